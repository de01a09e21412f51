//! The API against its OpenAPI document (`cargo xtask api-check`), on the built binary with
//! SQLite in a temporary directory, on a free port, with rate limits high enough not to get in
//! the way (429 stays documented and tested by the API tests):
//!
//! - schemathesis (PyPI, in `target/schemathesis-venv`) with an admin API key, every check, a
//!   fixed seed and 100 examples per operation, stateful links included;
//! - the docs page in headless Chromium (Debian's `chromium`, driven by `playwright-core` from
//!   npm, installed into `target/docs-browser`): the operations are listed, "Authorize" takes the
//!   API key, "Try it out" on `POST /orders` with the sample answers 201; the screenshot is
//!   `target/docs-browser/docs.png`.
//!
//! The tools are installed by `cargo xtask api-check` (and `cargo xtask ci`), never here: a
//! missing one fails the test with that command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::ports::free_port;
use testkit::process::OnDrop;
use testkit::server::{Launch, Ready, Server};
use testkit::workspace_root;

use crate::shared::built_binary::BINARY;

/// The command that installs what these tests run.
const INSTALL: &str = "cargo xtask api-check";
const SCHEMATHESIS_REQUIREMENTS: &str = "xtask/schemathesis-requirements.txt";
const SCHEMATHESIS_VENV: &str = "target/schemathesis-venv";
/// Written by xtask into the venv once pip succeeded: the requirements it was installed from.
const VENV_STAMP: &str = "xtask-requirements.txt";
const SCHEMATHESIS_CONFIG: &str = "xtask/schemathesis.toml";
/// Fixed, so that a failure is reproducible (`st` prints the seed and a `curl` for each one).
const SCHEMATHESIS_SEED: &str = "20261128";
const EXAMPLES_PER_OPERATION: &str = "100";
/// The browser test's sources, and where xtask has npm install playwright-core for it.
const BROWSER_SOURCES: &str = "xtask/docs-browser";
const BROWSER_DIR: &str = "target/docs-browser";
/// Written by xtask once npm succeeded: the package.json it installed from.
const BROWSER_STAMP: &str = "node_modules/.xtask-package.json";
/// Where Debian's `chromium` package puts the browser that playwright-core drives.
const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn schemathesis_finds_no_difference_between_the_api_and_its_document() {
    let root = workspace_root();
    let st = schemathesis();
    let server = TestServer::start();
    let report = root.join("target/schemathesis-report");
    let mut command = Command::new(st);
    // Its working files (`.schemathesis/`, hypothesis' example database) go under target/.
    command
        .current_dir(root.join("target"))
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
        "e2e: st run {}/openapi.json --checks all --seed {SCHEMATHESIS_SEED} --max-examples {EXAMPLES_PER_OPERATION} (config {SCHEMATHESIS_CONFIG})",
        server.base_url
    );
    let status = command.status().unwrap();
    assert!(
        status.success(),
        "schemathesis found failures (each with a curl to reproduce it); fix the service, not the spec"
    );
}

#[test]
fn the_docs_page_authorizes_and_tries_out_post_orders_in_a_browser() {
    let dir = browser_test();
    // A server of its own: the page's sample order must be new (201).
    let server = TestServer::start();
    let screenshot = dir.join("docs.png");
    let status = Command::new("node")
        .current_dir(&dir)
        .arg("docs.mjs")
        .env("BASE_URL", &server.base_url)
        .env("API_KEY", &server.api_key)
        .env("CHROMIUM", CHROMIUM)
        .env("SCREENSHOT", &screenshot)
        .status()
        .unwrap_or_else(|err| panic!("cannot run node ({err}): `{INSTALL}` installs it"));
    assert!(status.success(), "the docs page test failed");
    eprintln!("e2e: docs page screenshot: {}", screenshot.display());
}

/// schemathesis' `st`, installed from the current requirements.
fn schemathesis() -> PathBuf {
    let root = workspace_root();
    let requirements = fs::read_to_string(root.join(SCHEMATHESIS_REQUIREMENTS)).unwrap();
    let venv = root.join(SCHEMATHESIS_VENV);
    let installed = fs::read_to_string(venv.join(VENV_STAMP)).ok();
    assert!(
        installed.is_some_and(|installed| installed == requirements),
        "schemathesis is not installed in {SCHEMATHESIS_VENV} from {SCHEMATHESIS_REQUIREMENTS}: \
         `{INSTALL}` installs it"
    );
    venv.join("bin/st")
}

/// The directory where playwright-core is installed, with the current test script in it.
fn browser_test() -> PathBuf {
    let root = workspace_root();
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `{INSTALL}` installs it"
    );
    let sources = root.join(BROWSER_SOURCES);
    let dir = root.join(BROWSER_DIR);
    let manifest = fs::read_to_string(sources.join("package.json")).unwrap();
    let installed = fs::read_to_string(dir.join(BROWSER_STAMP)).ok();
    assert!(
        installed.is_some_and(|installed| installed == manifest),
        "playwright-core is not installed in {BROWSER_DIR} from {BROWSER_SOURCES}/package.json: \
         `{INSTALL}` installs it"
    );
    // The script as it is now, next to the node_modules it imports from.
    fs::copy(sources.join("docs.mjs"), dir.join("docs.mjs")).unwrap();
    dir
}

/// The built binary serving on a free port, on SQLite in a temporary directory, with an admin
/// API key. Stopped (with SIGTERM, then SIGKILL) on drop.
struct TestServer {
    base_url: String,
    api_key: String,
    _server: Server,
    _data: tempfile::TempDir,
}

impl TestServer {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            data.path().join("orders.db").display()
        );
        let admin = |args: &[&str]| -> String {
            let output = Command::new(BINARY)
                .args(args)
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "warn")
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "`order-manager {}` failed",
                args.join(" ")
            );
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        admin(&["migrate"]);
        let api_key = admin(&[
            "api-key",
            "create",
            "--name",
            "api-check",
            "--scope",
            "admin",
        ]);
        let port = free_port().unwrap();
        let mut launch = Launch::new(BINARY);
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
        let server = Server::start(launch).unwrap_or_else(|err| panic!("{err:#}"));
        let base_url = server.base();
        eprintln!("e2e: order-manager (SQLite) at {base_url}");
        Self {
            base_url,
            api_key,
            _server: server,
            _data: data,
        }
    }
}
