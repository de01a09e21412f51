//! Running `cargo` (and other child processes) from the workspace root.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::signals;

/// The workspace root. xtask's own manifest sits one level below it, so this works from any
/// current directory `cargo xtask` is started in.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// A `cargo` command in the workspace root.
///
/// Uses the cargo that started xtask (`CARGO`, set by `cargo run`), so that a `cargo +nightly
/// xtask ...` or a pinned toolchain is used for every step, not whatever `cargo` is on PATH.
pub fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command
        .args(args.into_iter().map(Into::into))
        .current_dir(workspace_root());
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(is_package_variable) {
            command.env_remove(name);
        }
    }
    command
}

/// Whether `name` is one of the variables `cargo run` sets for the package it runs (xtask).
///
/// Why they are removed: build scripts that watch them (ring's does, `CARGO_PKG_NAME` among
/// others) would see xtask's values, so every build started by xtask would differ from the same
/// command typed in a shell, and each would rebuild what the other built: `cargo xtask dev`
/// after `cargo run --release` recompiled ring, rustls and sqlx.
fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || matches!(
            name,
            "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
        )
}

/// How a step gets the debug build of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugServer {
    /// `cargo build` it (a step run on its own).
    Build,
    /// Use the binary as it is: `cargo xtask ci`'s test step has just built it, with the test
    /// build's features; a plain `cargo build` would compile it and its crates once more.
    Reuse,
}

/// `target/debug/order-manager`, built first unless `how` says it is there already.
pub fn debug_server(how: DebugServer) -> Result<PathBuf> {
    if how == DebugServer::Build {
        run_inherited(&mut cargo([
            "build",
            "--package",
            "order-manager-server",
            "--bin",
            "order-manager",
        ]))?;
    }
    let binary = workspace_root().join("target/debug/order-manager");
    if !binary.is_file() {
        bail!("{} is missing; build it first", binary.display());
    }
    Ok(binary)
}

/// `cargo nextest run` of the end-to-end tests that `filter` selects (cargo builds the binary
/// they start first).
pub fn run_e2e(filter: &str) -> Result<()> {
    let path = crate::preflight::ensure_nextest()?;
    let mut test = cargo([
        "nextest",
        "run",
        "--package",
        "order-manager-server",
        "--test",
        "e2e",
        "-E",
        filter,
    ]);
    test.env("PATH", &path);
    run_inherited(&mut test)
}

/// Runs `command` with inherited stdio, so its output streams to the terminal, and fails
/// unless it exits successfully.
pub fn run_inherited(command: &mut Command) -> Result<()> {
    let shown = display(command);
    eprintln!("xtask: running `{shown}`");
    let status =
        signals::run_in_foreground(command).with_context(|| format!("could not run `{shown}`"))?;
    if let Some(signal) = signals::received() {
        bail!("`{shown}` was interrupted by {signal}");
    }
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// The command line as a person would type it, for messages.
pub fn display(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(
            command
                .get_args()
                .map(|arg| arg.to_string_lossy().into_owned()),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cargo install --locked` of a pinned `version` of `krate` into `root` (a folder of the
/// clone's `target/`: nothing is installed outside it).
pub fn cargo_install(krate: &str, version: &str, root: &Path) -> Result<()> {
    run_inherited(
        cargo([
            "install",
            "--locked",
            "--quiet",
            "--version",
            version,
            "--root",
        ])
        .arg(root)
        .arg(krate),
    )
    .with_context(|| format!("cargo could not install {krate} {version} (crates.io)"))
}

/// PATH with `dir` in front, for a child that runs a tool xtask built into `target/tools`.
pub fn path_with(dir: &Path) -> Result<OsString> {
    let rest = env::var_os("PATH").unwrap_or_default();
    let paths = std::iter::once(dir.to_path_buf()).chain(env::split_paths(&rest));
    env::join_paths(paths).context("a PATH entry contains a separator")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_variables_of_the_running_package_are_removed() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_CRATE_NAME",
            "OUT_DIR",
        ] {
            assert!(is_package_variable(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "PATH",
        ] {
            assert!(!is_package_variable(name), "{name}");
        }
    }
}
