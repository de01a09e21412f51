//! Logging: `tracing`, JSON lines for machines, pretty for people. `RUST_LOG` filters.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Where log lines go: the server logs to stdout (collected by the platform); admin commands
/// log to stderr, so that their stdout carries only their product (a key, a listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Installs the subscriber. Keep the returned guard alive until the process ends: it flushes
/// the server's log lines still queued for stdout.
pub fn init(format: LogFormat, target: LogTarget) -> Option<WorkerGuard> {
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
    match target {
        LogTarget::Stdout => {
            // One access line per request: written by a background thread, buffered and
            // flushed whenever its queue runs dry, instead of a locked write(2) per line on the
            // request path (a fifth of the read throughput, see docs/benchmarks.md). Not lossy:
            // when the queue is full, requests wait rather than lines being dropped.
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(false)
                .thread_name("log-writer")
                .finish(BufWriter::new(std::io::stdout()));
            let _ = if json {
                builder
                    .json()
                    .flatten_event(true)
                    // `span` carries the request id; the list of every span repeats it.
                    .with_span_list(false)
                    .with_writer(writer)
                    .try_init()
            } else {
                builder.with_writer(writer).try_init()
            };
            Some(guard)
        }
        LogTarget::Stderr => {
            let _ = if json {
                builder
                    .json()
                    .flatten_event(true)
                    // `span` carries the request id; the list of every span repeats it.
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .try_init()
            } else {
                builder.with_writer(std::io::stderr).try_init()
            };
            None
        }
    }
}
