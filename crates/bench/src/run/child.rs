//! The programs a run waits for: the load generators, the server's admin subcommands and this
//! binary's own subcommands (the seeding and the raw ceilings run in a process of their own, as
//! they did under xtask).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// `order-manager-bench <args>`: one JSON object.
pub fn bench_tool(binary: &Path, args: &[String]) -> Result<Value> {
    let output = capture(Command::new(binary).args(args), "order-manager-bench")?;
    serde_json::from_str(output.trim())
        .with_context(|| format!("order-manager-bench printed no JSON: {output}"))
}

/// An admin subcommand of the server binary (`migrate`, `api-key create`) on the database at
/// `database_url`: what it printed on stdout. Its log is shown only when it fails.
pub fn admin(binary: &Path, database_url: &str, args: &[&str]) -> Result<String> {
    output_of(
        Command::new(binary)
            .args(args)
            .env("DATABASE_URL", database_url)
            .stderr(Stdio::piped()),
        &format!("order-manager {}", args.join(" ")),
    )
}

/// Runs to completion and returns stdout; stderr is passed through.
pub fn capture(command: &mut Command, name: &str) -> Result<String> {
    output_of(command.stderr(Stdio::inherit()), name)
}

/// Runs to completion and returns stdout; what it printed is the error when it fails.
fn output_of(command: &mut Command, name: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {name}"))?;
    if !output.status.success() {
        bail!(
            "{name} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
