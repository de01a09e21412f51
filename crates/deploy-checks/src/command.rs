//! Running a checking tool to completion and reporting what it said.

use std::process::{Command, ExitStatus, Output};

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

/// A finished run of a tool: its command line, how it ended, and what it printed.
#[derive(Debug)]
pub struct Finished {
    pub shown: String,
    pub status: ExitStatus,
    pub text: String,
}

/// Runs `command` to completion and logs what it printed, for the test's output; fails only if
/// it could not be started.
pub fn run_logged(command: &mut Command) -> Result<Finished> {
    let shown = display(command);
    let finished = output(command)?;
    let text = describe_output(&finished);
    eprintln!("deploy-checks: `{shown}` ({}):\n{text}", finished.status);
    Ok(Finished {
        shown,
        status: finished.status,
        text,
    })
}

/// Runs `command` and fails, with what it printed, unless it exits successfully; returns its
/// output.
pub fn run_checked(command: &mut Command) -> Result<String> {
    let finished = run_logged(command)?;
    if !finished.status.success() {
        anyhow::bail!(
            "`{}` failed ({}):\n{}",
            finished.shown,
            finished.status,
            finished.text
        );
    }
    Ok(finished.text)
}
