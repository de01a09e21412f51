//! Logging: `tracing`, JSON lines for machines, pretty for people. `RUST_LOG` filters.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Where log lines go: the server logs to stdout (collected by the platform); admin commands
/// log to stderr, so that their stdout carries only their product (a key, a listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

pub fn init(format: LogFormat, target: LogTarget) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let on_terminal = match target {
        LogTarget::Stdout => std::io::stdout().is_terminal(),
        LogTarget::Stderr => std::io::stderr().is_terminal(),
    };
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !on_terminal,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(on_terminal && !json);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = match (json, target) {
        (true, LogTarget::Stdout) => builder.json().flatten_event(true).try_init(),
        (true, LogTarget::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .try_init(),
        (false, LogTarget::Stdout) => builder.try_init(),
        (false, LogTarget::Stderr) => builder.with_writer(std::io::stderr).try_init(),
    };
}
