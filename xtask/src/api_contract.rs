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
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;

use crate::cargo::{DebugServer, cargo, debug_server, display, run_inherited, workspace_root};
use crate::deploy_check::python::Tools;
use crate::preflight::CHROMIUM;
use crate::signals;
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
    child: Option<Child>,
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
        let log = fs::File::create(data.path().join("server.log"))
            .context("cannot create the server log")?;
        let child = Command::new(&binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--metrics-bind", "127.0.0.1:0"])
            .args(["--shutdown-delay-secs", "0"])
            .args(["--rate-limit-rps", "10000", "--rate-limit-burst", "10000"])
            .args(["--login-rate-per-minute-ip", "100000"])
            .args(["--login-rate-per-minute-user", "100000"])
            .args(["--login-rate-per-minute-user-all", "100000"])
            .args(["--log-format", "json"])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().context("cannot share the server log")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            child: Some(child),
            base_url: format!("http://127.0.0.1:{port}"),
            api_key,
            _data: data,
        };
        server.wait_until_healthy(port)?;
        eprintln!("xtask: order-manager (SQLite) at {}", server.base_url);
        Ok(server)
    }

    fn wait_until_healthy(&mut self, port: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if healthz_answers(address) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log =
                    fs::read_to_string(self._data.path().join("server.log")).unwrap_or_default();
                bail!("order-manager exited ({status}) before answering:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("order-manager did not answer GET /healthz within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = signals::send(child.id(), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn healthz_answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free port")?;
    Ok(listener.local_addr()?.port())
}
