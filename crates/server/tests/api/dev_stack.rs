//! `cargo xtask dev`, run as a developer runs it: a seeded stack on MariaDB and Redis, its
//! printed credentials used as printed, a crash of xtask recovered by the next start, and Ctrl-C
//! leaving nothing running.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::Value;

use crate::binary::BINARY;
use testkit::ports::free_port_or_panic as free_port;

/// A cold start initialises MariaDB's data directory; a build of xtask may come first.
const BANNER_TIMEOUT: Duration = Duration::from_secs(600);
/// How long Ctrl-C may take to stop the server, Redis and MariaDB.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const SEED: u64 = 100;

#[derive(Debug, Clone, Copy)]
struct Ports {
    mariadb: u16,
    redis: u16,
    http: u16,
    metrics: u16,
}

impl Ports {
    fn free() -> Self {
        Self {
            mariadb: free_port(),
            redis: free_port(),
            http: free_port(),
            metrics: free_port(),
        }
    }

    fn all(self) -> [u16; 4] {
        [self.mariadb, self.redis, self.http, self.metrics]
    }
}

/// A running `cargo xtask dev` in its own process group, as in a terminal; on Drop (a failed
/// test) everything it started is killed.
struct DevStack {
    child: Child,
    dir: PathBuf,
    stdout: Receiver<String>,
}

impl DevStack {
    fn start(dir: &Path, ports: Ports) -> Self {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut command = Command::new(cargo);
        // The variables cargo sets for this test (CARGO_PKG_NAME, ...) reach build scripts that
        // watch them: passed on, `cargo xtask` would rebuild xtask's dependencies here.
        for (name, _) in std::env::vars() {
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || name == "CARGO_CRATE_NAME"
                || name == "CARGO_PRIMARY_PACKAGE"
            {
                command.env_remove(name);
            }
        }
        let mut child = command
            .current_dir(workspace)
            .args(["xtask", "dev", "--seed", &SEED.to_string()])
            .arg("--dir")
            .arg(dir)
            .args(["--binary", BINARY])
            .args(["--mariadb-port", &ports.mariadb.to_string()])
            .args(["--redis-port", &ports.redis.to_string()])
            .args(["--bind", &format!("127.0.0.1:{}", ports.http)])
            .args(["--metrics-bind", &format!("127.0.0.1:{}", ports.metrics)])
            .args(["--", "--shutdown-delay-secs", "1", "--log-format", "json"])
            .env_remove("ORDER_MANAGER_JWT_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap();
        let (sender, stdout) = channel();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            dir: dir.to_path_buf(),
            stdout,
        }
    }

    /// The banner xtask prints once the server is ready, up to its last line.
    fn banner(&mut self) -> Banner {
        let deadline = Instant::now() + BANNER_TIMEOUT;
        let mut banner = Vec::new();
        let mut started = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.stdout.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!("no banner within {BANNER_TIMEOUT:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "xtask dev exited before it was ready: {:?}",
                        self.child.wait()
                    )
                }
            };
            started |= line.starts_with("order-manager dev stack: ready");
            if started {
                let last = line.starts_with("Ctrl-C stops");
                banner.push(line);
                if last {
                    return Banner(banner);
                }
            }
        }
    }

    /// SIGKILL to xtask alone: a crash that leaves its children running.
    fn crash(&mut self) {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", self.child.id())).unwrap();
        // `cargo run` replaces itself with the program on Unix, so this is xtask itself.
        assert_eq!(comm.trim_end(), "xtask");
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Ctrl-C, as a terminal sends it: SIGINT to the whole foreground process group.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        killpg(pid(self.child.id()), Signal::SIGINT).unwrap();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "xtask dev did not stop within {STOP_TIMEOUT:?} of Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DevStack {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = killpg(pid(self.child.id()), Signal::SIGKILL);
            let _ = self.child.wait();
        }
        // Redis and MariaDB run in process groups of their own.
        for file in ["server.pid", "redis.pid", "mariadb.pid"] {
            if let Ok(text) = std::fs::read_to_string(self.dir.join(file))
                && let Ok(recorded) = text.trim().parse::<u32>()
            {
                let _ = kill(pid(recorded), Signal::SIGKILL);
            }
        }
    }
}

fn pid(id: u32) -> Pid {
    Pid::from_raw(i32::try_from(id).unwrap())
}

/// The lines xtask dev printed once ready.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Banner(Vec<String>);

impl Banner {
    fn line(&self, label: &str) -> &str {
        self.0
            .iter()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in {:#?}", self.0))
    }

    fn api_key(&self) -> String {
        let line = self.line("API key");
        line.split_whitespace().nth(2).unwrap().to_owned()
    }

    fn admin_password(&self) -> String {
        // admin     user `admin`, password `...`
        self.line("admin").split('`').nth(3).unwrap().to_owned()
    }
}

fn listening(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

/// The summaries and, for each customer, the items of the first one, read with the API key.
async fn seeded_data(client: &reqwest::Client, base: &str, key: &str) -> (Value, Value) {
    let summaries = client
        .get(format!("{base}/customers/summaries?limit=1000"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(summaries.status(), StatusCode::OK);
    let summaries: Value = summaries.json().await.unwrap();
    let first = summaries["summaries"][0]["customerId"].as_str().unwrap();
    let items = client
        .get(format!("{base}/customers/{first}/items?limit=1000"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(items.status(), StatusCode::OK);
    (summaries, items.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn xtask_dev_serves_a_seeded_stack_with_sessions_in_redis_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let base = format!("http://127.0.0.1:{}", ports.http);
    let client = crate::helpers::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut first = DevStack::start(dir.path(), ports);
    let banner = first.banner();
    let key = banner.api_key();
    assert!(
        banner.line("seed").contains(&format!("stored {SEED}")),
        "{banner:#?}"
    );

    // The seeded orders, read with the printed key.
    let (summaries, items) = seeded_data(&client, &base, &key).await;
    let summaries = summaries["summaries"].as_array().unwrap();
    assert!(summaries.len() > 1, "{summaries:?}");
    let purchased: u64 = summaries
        .iter()
        .map(|summary| summary["nbrOfPurchasedItems"].as_u64().unwrap())
        .sum();
    assert!(
        purchased >= SEED,
        "every sample order has an item: {purchased}"
    );
    assert_eq!(
        items["items"].as_array().unwrap().len() as u64,
        summaries[0]["nbrOfPurchasedItems"].as_u64().unwrap(),
        "the first customer's items are all there"
    );

    // Sessions live in Redis: readiness checks it, and a logout there ends the token.
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["redis"], "up", "{ready}");
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": banner.admin_password()}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let token = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let summaries_with = |token: String| {
        client
            .get(format!("{base}/customers/summaries?limit=1"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        summaries_with(token.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    let logout = client
        .post(format!("{base}/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        summaries_with(token).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A crash of xtask leaves the server, Redis and MariaDB running...
    first.crash();
    assert!(listening(ports.http) && listening(ports.redis) && listening(ports.mariadb));

    // ...and the next start stops them, then keeps the data, the credentials and the samples.
    let mut second = DevStack::start(dir.path(), ports);
    let again = second.banner();
    assert_eq!(again.api_key(), key);
    assert_eq!(again.admin_password(), banner.admin_password());
    let seed = again.line("seed");
    assert!(
        seed.contains("stored 0") && seed.contains(&format!("duplicates {SEED}")),
        "the same samples again: {seed}"
    );
    let (summaries_again, _) = seeded_data(&client, &base, &key).await;
    assert_eq!(summaries_again["summaries"].as_array().unwrap(), summaries);

    // Ctrl-C stops everything, cleanly.
    let status = second.interrupt();
    assert!(status.success(), "xtask dev after Ctrl-C: {status}");
    for port in ports.all() {
        assert!(!listening(port), "port {port} is still served after Ctrl-C");
    }
    for file in ["server.pid", "redis.pid", "mariadb.pid"] {
        assert!(!dir.path().join(file).exists(), "{file} left behind");
    }
}
