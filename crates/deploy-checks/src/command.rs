//! Running a checking tool to completion and reporting what it said.

use std::process::{Command, Output};

use anyhow::{Context, Result};

/// Runs `command` to completion, capturing its output; fails only if it could not be started.
pub fn output(command: &mut Command) -> Result<Output> {
    command
        .output()
        .with_context(|| format!("could not run `{}`", display(command)))
}

/// Stdout and stderr of a finished command, for an error message.
pub fn describe_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim_end());
    }
    text
}

/// The command line as a person would type it, for messages.
pub fn display(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` and fails, with what it printed, unless it exits successfully; returns its
/// output, for the test's log.
pub fn run_checked(command: &mut Command) -> Result<String> {
    let shown = display(command);
    let finished = output(command)?;
    let text = describe_output(&finished);
    if !finished.status.success() {
        anyhow::bail!("`{shown}` failed ({}):\n{text}", finished.status);
    }
    eprintln!("deploy-checks: `{shown}` passed\n{text}");
    Ok(text)
}
