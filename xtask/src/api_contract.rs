//! The API contract: `cargo xtask openapi` (regenerates `docs/openapi.json`) and
//! `cargo xtask api-check`, also steps of `cargo xtask ci`:
//!
//! - schemathesis (PyPI, in `target/schemathesis-venv`) against the built binary, with an admin
//!   API key, every check, a fixed seed and 100 examples per operation, stateful links included;
//! - the docs page in headless Chromium (Debian's `chromium`, driven by `playwright-core` from
//!   npm, installed into `target/docs-browser`): the operations are listed, "Authorize" takes the
//!   API key, "Try it out" on `POST /orders` with the sample answers 201; the screenshot is
//!   `target/docs-browser/docs.png`.
//!
//! Both run against one server (the browser first: its sample order must be new): the debug binary on SQLite in a temporary directory, on a free
//! port, with rate limits high enough not to get in the way (429 stays documented and tested by
//! the API tests).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use testkit::ports::free_port;
use testkit::process::OnDrop;
use testkit::server::{Launch, Ready, Server};

use crate::cargo::{DebugServer, cargo, debug_server, display, run_inherited, workspace_root};
use crate::deploy_check::python::Tools;
use crate::preflight::CHROMIUM;
use crate::step_timer::StepTimer;

/// The checked-in copy of the document served at `GET /openapi.json`.
pub const OPENAPI_FILE: &str = "docs/openapi.json";
const SCHEMATHESIS_REQUIREMENTS: &str = "xtask/schemathesis-requirements.txt";
const SCHEMATHESIS_VENV: &str = "target/schemathesis-venv";
const SCHEMATHESIS_CONFIG: &str = "xtask/schemathesis.toml";
/// Fixed, so that a failure is reproducible (`st` prints the seed and a `curl` for each one).
const SCHEMATHESIS_SEED: &str = "20261128";
const EXAMPLES_PER_OPERATION: &str = "100";
/// The browser test's sources, and where npm installs playwright-core for it.
const BROWSER_SOURCES: &str = "xtask/docs-browser";
const BROWSER_DIR: &str = "target/docs-browser";

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

/// `cargo xtask api-check`: schemathesis, then the docs page in a browser.
pub fn run() -> Result<()> {
    let mut timer = StepTimer::default();
    let result = run_steps(&mut timer, DebugServer::Build);
    eprintln!("{}", timer.summary("xtask api-check"));
    result
}

/// The steps, timed one by one (also called by `cargo xtask ci`).
pub fn run_steps(timer: &mut StepTimer, server: DebugServer) -> Result<()> {
    let tools = timer.run("schemathesis install", || {
        Tools::ensure_venv(SCHEMATHESIS_REQUIREMENTS, SCHEMATHESIS_VENV)
    })?;
    let browser = timer.run("docs browser install", install_browser_test)?;
    let server = timer.run("api server start", || TestServer::start(server))?;
    // The browser first: it expects its sample order to be new (201), and schemathesis stores
    // that sample too.
    let browsed = timer.run("docs browser", || browser_test(&browser, &server));
    let fuzzed = timer.run("schemathesis", || schemathesis(&tools, &server));
    server.stop();
    browsed.and(fuzzed)
}

fn schemathesis(tools: &Tools, server: &TestServer) -> Result<()> {
    let root = workspace_root();
    let report = root.join("target/schemathesis-report");
    let mut st = tools.command("st");
    // Its working files (`.schemathesis/`, hypothesis' example database) go under target/.
    st.current_dir(root.join("target"))
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .arg("--config-file")
        .arg(root.join(SCHEMATHESIS_CONFIG))
        .arg("run")
        .arg(format!("{}/openapi.json", server.base_url))
        .args(["--checks", "all"])
        .args(["--seed", SCHEMATHESIS_SEED])
        .args(["--max-examples", EXAMPLES_PER_OPERATION])
        .args(["--header", &format!("X-API-Key: {}", server.api_key)])
        // One worker: hypothesis is not thread-safe everywhere (seen: a spurious runtime
        // error in its lambda descriptions with two).
        .args(["--workers", "1"])
        .arg("--no-color")
        .arg("--report-dir")
        .arg(&report)
        .args(["--report", "junit"]);
    // The key is secret-free (a throwaway server), but the command line stays short.
    eprintln!(
        "xtask: st run {}/openapi.json --checks all --seed {SCHEMATHESIS_SEED} --max-examples {EXAMPLES_PER_OPERATION} (config {SCHEMATHESIS_CONFIG})",
        server.base_url
    );
    run_inherited(&mut st).context(
        "schemathesis found failures (each with a curl to reproduce it); fix the service, not the spec",
    )
}

/// Installs playwright-core (pinned in `xtask/docs-browser/package.json`) into
/// `target/docs-browser`, next to a copy of the test script; checks that Chromium is there.
fn install_browser_test() -> Result<PathBuf> {
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
        return Ok(dir);
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
    fs::write(&stamp, manifest).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(dir)
}

fn browser_test(dir: &Path, server: &TestServer) -> Result<()> {
    let screenshot = dir.join("docs.png");
    let mut node = Command::new("node");
    node.current_dir(dir)
        .arg("docs.mjs")
        .env("BASE_URL", &server.base_url)
        .env("API_KEY", &server.api_key)
        .env("CHROMIUM", CHROMIUM)
        .env("SCREENSHOT", &screenshot);
    run_inherited(&mut node).context("the docs page test failed")?;
    eprintln!("xtask: docs page screenshot: {}", screenshot.display());
    Ok(())
}

/// The built binary serving on a free port, on SQLite in a temporary directory. Stopped (with
/// SIGTERM, then SIGKILL) on `stop` or drop.
struct TestServer {
    server: Server,
    base_url: String,
    api_key: String,
    _data: tempfile::TempDir,
}

impl TestServer {
    fn start(how: DebugServer) -> Result<Self> {
        let binary = debug_server(how)?;
        let data = tempfile::tempdir().context("cannot create a temporary directory")?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            data.path().join("orders.db").display()
        );
        let admin = |args: &[&str]| -> Result<String> {
            let mut command = Command::new(&binary);
            command
                .args(args)
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "warn")
                .stderr(Stdio::inherit());
            let output = command
                .output()
                .with_context(|| format!("cannot run {}", binary.display()))?;
            if !output.status.success() {
                bail!("`order-manager {}` failed", args.join(" "));
            }
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        admin(&["migrate"])?;
        let api_key = admin(&[
            "api-key",
            "create",
            "--name",
            "api-check",
            "--scope",
            "admin",
        ])?;
        let port = free_port()?;
        let mut launch = Launch::new(binary);
        launch.args = [
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--metrics-bind",
            "127.0.0.1:0",
            "--shutdown-delay-secs",
            "0",
            "--rate-limit-rps",
            "10000",
            "--rate-limit-burst",
            "10000",
            "--login-rate-per-minute-ip",
            "100000",
            "--login-rate-per-minute-user",
            "100000",
            "--login-rate-per-minute-user-all",
            "100000",
            "--log-format",
            "json",
        ]
        .map(str::to_owned)
        .to_vec();
        launch.env = vec![
            ("DATABASE_URL".to_owned(), url),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        launch.ready = Ready::Http {
            port,
            path: "/healthz",
            timeout: Duration::from_secs(30),
            log: data.path().join("server.log"),
        };
        launch.stop_timeout = Duration::from_secs(10);
        launch.on_drop = OnDrop::Stop;
        let server = Server::start(launch)?;
        let base_url = server.base();
        eprintln!("xtask: order-manager (SQLite) at {base_url}");
        Ok(Self {
            server,
            base_url,
            api_key,
            _data: data,
        })
    }

    fn stop(mut self) {
        // A server that outlived its stop timeout was killed: nothing is left to clean up.
        let _ = self.server.terminate();
    }
}
