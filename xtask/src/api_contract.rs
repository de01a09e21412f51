//! The API contract: `cargo xtask openapi` (regenerates `docs/openapi.json`) and
//! `cargo xtask api-check`: the tools of the `api_contract` tests of the end-to-end suite
//! (`crates/server/tests/e2e/api_contract.rs`: schemathesis against the built binary, the docs
//! page in headless Chromium), then those tests. `cargo xtask ci` installs the same tools
//! before its test pass, which runs them.
//!
//! schemathesis comes from PyPI into `target/schemathesis-venv`; playwright-core from npm into
//! `target/docs-browser`; Chromium is Debian's `chromium` (the preflight's).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cargo::{cargo, display, run_inherited, workspace_root};
use crate::deploy_check::python::Tools;
use crate::preflight::CHROMIUM;
use crate::step_timer::StepTimer;

/// The checked-in copy of the document served at `GET /openapi.json`.
pub const OPENAPI_FILE: &str = "docs/openapi.json";
const SCHEMATHESIS_REQUIREMENTS: &str = "xtask/schemathesis-requirements.txt";
const SCHEMATHESIS_VENV: &str = "target/schemathesis-venv";
/// The browser test's sources, and where npm installs playwright-core for it.
const BROWSER_SOURCES: &str = "xtask/docs-browser";
const BROWSER_DIR: &str = "target/docs-browser";
/// The end-to-end tests of the API contract.
const API_CONTRACT_TESTS: &str = "test(/^api_contract::/)";

/// `cargo xtask openapi`: writes the document the code generates to `docs/openapi.json`.
pub fn write_openapi() -> Result<()> {
    let document = generate_openapi()?;
    let path = workspace_root().join(OPENAPI_FILE);
    fs::write(&path, document).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("xtask: wrote {OPENAPI_FILE}");
    Ok(())
}

fn generate_openapi() -> Result<String> {
    let mut command = cargo([
        "run",
        "--quiet",
        "--package",
        "order-manager-http",
        "--example",
        "openapi",
    ]);
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", display(&command)))?;
    if !output.status.success() {
        bail!("{} failed", display(&command));
    }
    String::from_utf8(output.stdout).context("the OpenAPI document is not UTF-8")
}

/// `cargo xtask api-check`: the tools, then the API contract tests.
pub fn run() -> Result<()> {
    let mut timer = StepTimer::default();
    let result = install_tools(&mut timer).and_then(|()| {
        timer.run("api contract tests", || {
            crate::cargo::run_e2e(API_CONTRACT_TESTS)
        })
    });
    eprintln!("{}", timer.summary("xtask api-check"));
    result
}

/// schemathesis and the browser test's playwright-core, timed one by one (also a step of
/// `cargo xtask ci`, before its test pass).
pub fn install_tools(timer: &mut StepTimer) -> Result<()> {
    timer.run("schemathesis install", || {
        Tools::ensure_venv(SCHEMATHESIS_REQUIREMENTS, SCHEMATHESIS_VENV).map(drop)
    })?;
    timer.run("docs browser install", install_browser_test)
}

/// Installs playwright-core (pinned in `xtask/docs-browser/package.json`) into
/// `target/docs-browser`, next to a copy of the test script; checks that Chromium is there.
fn install_browser_test() -> Result<()> {
    let root = workspace_root();
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is missing: the preflight of `cargo xtask api-check` installs it");
    }
    let sources = root.join(BROWSER_SOURCES);
    let dir = root.join(BROWSER_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in ["package.json", "package-lock.json", "docs.mjs"] {
        let from = sources.join(file);
        if from.exists() {
            fs::copy(&from, dir.join(file))
                .with_context(|| format!("cannot copy {}", from.display()))?;
        }
    }
    let manifest = fs::read_to_string(sources.join("package.json"))
        .context("cannot read xtask/docs-browser/package.json")?;
    let stamp = dir.join("node_modules/.xtask-package.json");
    if fs::read_to_string(&stamp).is_ok_and(|installed| installed == manifest) {
        return Ok(());
    }
    eprintln!("xtask: installing playwright-core into {BROWSER_DIR} (npm)");
    let lock_exists = sources.join("package-lock.json").exists();
    let mut npm = Command::new("npm");
    npm.current_dir(&dir)
        .arg(if lock_exists { "ci" } else { "install" })
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        // The browser is Debian's; nothing may try to download one.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run_inherited(&mut npm).context("npm could not install playwright-core (npm registry)")?;
    fs::write(&stamp, manifest).with_context(|| format!("cannot write {}", stamp.display()))
}
