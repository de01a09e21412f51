//! `cargo xtask cluster up|test|down`: the scale-out rehearsal. A private MariaDB and Redis
//! (the same Drop-guarded instances `cargo xtask ci` uses), the schema migrated, three
//! `order-manager` replicas (the debug binary: CI has built its dependencies already), and a
//! real nginx in front terminating TLS with the shipped `deploy/nginx/order-manager.conf`.
//!
//! Addresses, so that the trust decision means something: the replicas and nginx listen on
//! 127.0.0.1, nginx reaches the replicas from 127.0.0.1, and the replicas trust only that
//! address (`ORDER_MANAGER_TRUSTED_PROXIES=127.0.0.1/32`). The suite's clients bind other
//! loopback addresses (127.0.0.2 and up), so their own address is what a replica must rate-limit,
//! whether they come through nginx (then from `X-Forwarded-For`) or straight to a replica.
//!
//! Every process is owned by a guard that stops it on Drop, so `test` tears everything down
//! even when a scenario fails or xtask is interrupted. State for `down` and logs live in
//! `target/cluster/`.

mod scenarios;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use nix::sys::signal::Signal;
use testkit::mariadb::MariaDb;
use testkit::nginx::Nginx;
use testkit::ports::free_port;
use testkit::process::OnDrop;
use testkit::redis::Redis;
use testkit::server::{Launch, Ready, Server};

use crate::cargo::{DebugServer, debug_server, workspace_root};
use crate::preflight::{self, Tool};
use crate::signals;

/// The admin user the suite logs in as.
pub const ADMIN_USER: &str = "cluster-admin";
pub const ADMIN_PASSWORD: &str = "a long cluster rehearsal password";
pub const DATABASE: &str = "order_manager";
const REPLICAS: usize = 3;
/// Seconds a SIGTERMed replica keeps serving (readiness 503) before closing its listener:
/// shorter than production's 5 s, to keep the suite quick; long enough for in-flight requests.
const SHUTDOWN_DELAY_SECS: &str = "2";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start MariaDB, Redis, three replicas and nginx (HTTPS), and keep them until Ctrl-C.
    Up,
    /// Start a cluster, run the scenario suite over HTTPS through nginx, and tear it all down.
    Test,
    /// Stop what an `up` left running (after a crash of xtask), from target/cluster/state.
    Down,
}

pub fn run(command: &ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Up => up(),
        ClusterCommand::Test => test(DebugServer::Build),
        ClusterCommand::Down => down(),
    }
}

fn cluster_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("cluster")
}

/// `cargo xtask cluster test` (also a step of `cargo xtask ci`).
pub fn test(server: DebugServer) -> Result<()> {
    let started = Instant::now();
    let mut cluster = Cluster::start(server)?;
    let result = scenarios::run_all(&mut cluster);
    // Stopped here rather than by Drop, to see errors; Drop covers every early return.
    let stopped = cluster.stop();
    eprintln!(
        "xtask: cluster test {} in {:.1} s (logs in {})",
        if result.is_ok() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64(),
        cluster_dir().display()
    );
    result.and(stopped)
}

fn up() -> Result<()> {
    let cluster = Cluster::start(DebugServer::Build)?;
    eprintln!(
        "xtask: cluster up: https://127.0.0.1:{} (CA certificate {}), replicas {}; user `{ADMIN_USER}`, \
         password `{ADMIN_PASSWORD}`. Ctrl-C stops everything.",
        cluster.nginx.port,
        cluster.nginx.dir.join("ca.crt").display(),
        cluster
            .replicas
            .iter()
            .map(|replica| replica.base())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let signal = loop {
        if let Some(signal) = signals::wait(Duration::from_secs(3600)) {
            break signal;
        }
    };
    eprintln!("xtask: {signal}: stopping the cluster");
    cluster.stop()
}

/// Stops the processes recorded by an `up` whose xtask died without its Drop guards running.
fn down() -> Result<()> {
    let state = cluster_dir().join("state");
    let Ok(text) = fs::read_to_string(&state) else {
        eprintln!(
            "xtask: no cluster state in {}: nothing to stop",
            state.display()
        );
        return Ok(());
    };
    for line in text.lines() {
        let Some((name, pid)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        // Only a process that is still the one recorded (pids are reused).
        let command = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !command.contains(name) {
            continue;
        }
        eprintln!("xtask: stopping {name} (pid {pid})");
        let _ = signals::send(pid, Signal::SIGTERM);
    }
    fs::remove_file(&state).ok();
    Ok(())
}

/// The whole cluster. Field order is drop order: nginx and replicas before their stores.
#[derive(Debug)]
pub struct Cluster {
    pub nginx: Nginx,
    pub replicas: Vec<Replica>,
    redis: Redis,
    mariadb: MariaDb,
    pub dir: PathBuf,
}

impl Cluster {
    pub fn start(server: DebugServer) -> Result<Self> {
        let dir = cluster_dir();
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let nginx_binary = preflight::locate(Tool::Nginx, &["nginx"])?;
        eprintln!("xtask: cluster: nginx at {}", nginx_binary.display());

        // The debug binary: CI's test build has just made it.
        let binary = debug_server(server)?;

        let mariadb = MariaDb::start_throwaway()?;
        let redis = Redis::start_throwaway()?;
        create_database(&mariadb.url())?;
        // Migrations as root (production's migration user); everything else as the data-only
        // runtime user, as the replicas run in production.
        admin(
            &binary,
            &format!("{}/{DATABASE}", mariadb.url()),
            &["migrate"],
            None,
        )?;
        let database_url = create_runtime_user(&mariadb.url())?;
        admin(
            &binary,
            &database_url,
            &["user", "add", "--username", ADMIN_USER, "--scope", "admin"],
            Some(ADMIN_PASSWORD),
        )?;

        let secret = random_secret()?;
        let mut replicas = Vec::new();
        for index in 0..REPLICAS {
            let port = free_port()?;
            let env = vec![
                ("DATABASE_URL".to_owned(), database_url.clone()),
                ("REDIS_URL".to_owned(), redis.url()),
                ("ORDER_MANAGER_JWT_SECRET".to_owned(), secret.clone()),
                ("ORDER_MANAGER_BIND".to_owned(), format!("127.0.0.1:{port}")),
                (
                    "ORDER_MANAGER_METRICS_BIND".to_owned(),
                    "127.0.0.1:0".to_owned(),
                ),
                // nginx alone: it connects to the replicas from 127.0.0.1.
                (
                    "ORDER_MANAGER_TRUSTED_PROXIES".to_owned(),
                    "127.0.0.1/32".to_owned(),
                ),
                // The per-username login limit would otherwise throttle the suite's own logins.
                (
                    "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_USER".to_owned(),
                    "1000".to_owned(),
                ),
                (
                    "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_USER_ALL".to_owned(),
                    "1000".to_owned(),
                ),
                (
                    "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_IP".to_owned(),
                    "10".to_owned(),
                ),
                (
                    "ORDER_MANAGER_SHUTDOWN_DELAY_SECS".to_owned(),
                    SHUTDOWN_DELAY_SECS.to_owned(),
                ),
                (
                    "ORDER_MANAGER_SHUTDOWN_TIMEOUT_SECS".to_owned(),
                    "10".to_owned(),
                ),
                ("ORDER_MANAGER_WORKERS".to_owned(), "2".to_owned()),
                ("ORDER_MANAGER_LOG_FORMAT".to_owned(), "json".to_owned()),
                ("RUST_LOG".to_owned(), "info".to_owned()),
            ];
            let log = dir.join(format!("replica-{index}.log"));
            replicas.push(Replica::start(index, port, binary.clone(), env, log)?);
        }
        let ports: Vec<u16> = replicas.iter().map(|replica| replica.port()).collect();
        let nginx = Nginx::start(&dir.join("nginx"), free_port()?, &ports)?;
        let cluster = Self {
            nginx,
            replicas,
            redis,
            mariadb,
            dir,
        };
        cluster.write_state()?;
        eprintln!(
            "xtask: cluster up: nginx https://127.0.0.1:{} -> replicas on ports {ports:?}",
            cluster.nginx.port
        );
        Ok(cluster)
    }

    /// `NAME PID` lines for `cluster down`.
    pub fn write_state(&self) -> Result<()> {
        let mut text = String::new();
        if let Some(pid) = self.nginx.pid() {
            text.push_str(&format!("nginx {pid}\n"));
        }
        for replica in &self.replicas {
            if let Some(pid) = replica.pid() {
                text.push_str(&format!("order-manager {pid}\n"));
            }
        }
        fs::write(self.dir.join("state"), text).context("cannot write the cluster state")
    }

    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.nginx.port)
    }

    /// Fails if MariaDB or Redis died under the suite.
    pub fn check_stores(&mut self) -> Result<()> {
        self.mariadb.check_running()?;
        self.redis.check_running()
    }

    pub fn stop(mut self) -> Result<()> {
        let nginx = self.nginx.stop();
        let mut replicas = Ok(());
        for replica in &mut self.replicas {
            replicas = replicas.and(replica.terminate());
        }
        let Self {
            redis,
            mariadb,
            dir,
            ..
        } = self;
        let redis = redis.stop();
        let mariadb = mariadb.stop();
        fs::remove_file(dir.join("state")).ok();
        nginx.and(replicas).and(redis).and(mariadb)
    }
}

/// One `order-manager` process on a fixed port (kept across restarts, as nginx's upstream
/// list names it), killed on Drop: testkit's launcher of the built binary, numbered.
#[derive(Debug)]
pub struct Replica {
    pub index: usize,
    server: Server,
}

impl Replica {
    /// `binary serve` with exactly `env` (plus PATH), appending to `log`, started and ready
    /// once `/readyz` answers 200 (database and Redis reachable, not draining).
    pub fn start(
        index: usize,
        port: u16,
        binary: PathBuf,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<Self> {
        let mut launch = Launch::new(binary);
        launch.args = vec!["serve".to_owned()];
        launch.env = env;
        launch.env_clear = true;
        launch.current_dir = Some(log.parent().unwrap_or(Path::new("/")).to_path_buf());
        launch.ready = Ready::Http {
            port,
            path: "/readyz",
            timeout: READY_TIMEOUT,
            log,
        };
        launch.stop_timeout = Duration::from_secs(20);
        launch.on_drop = OnDrop::Kill;
        let server = Server::start(launch).with_context(|| format!("replica {index}"))?;
        Ok(Self { index, server })
    }
}

impl Deref for Replica {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl DerefMut for Replica {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

/// `CREATE DATABASE` with the MariaDB client that comes with the server.
pub fn create_database(url: &str) -> Result<()> {
    create_named_database(url, DATABASE)
}

/// `CREATE DATABASE name` on the server at `url` (no database in it).
pub fn create_named_database(url: &str, name: &str) -> Result<()> {
    run_sql(
        url,
        &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
    )
}

/// The replicas' database user: data only (SELECT, INSERT, UPDATE, DELETE), no DDL, as the
/// production runtime user (deploy/README.md, "Database users"); migrations run as root.
const RUNTIME_USER: &str = "order_manager_app";
const RUNTIME_PASSWORD: &str = "runtime-user-local-only";

/// Creates [`RUNTIME_USER`] with the grants of production's runtime user; returns its URL.
fn create_runtime_user(url: &str) -> Result<String> {
    run_sql(
        url,
        &format!(
            "CREATE USER '{RUNTIME_USER}'@'127.0.0.1' IDENTIFIED BY '{RUNTIME_PASSWORD}'; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON {DATABASE}.* TO '{RUNTIME_USER}'@'127.0.0.1'"
        ),
    )?;
    let address = url.trim_start_matches("mysql://root@");
    Ok(format!(
        "mysql://{RUNTIME_USER}:{RUNTIME_PASSWORD}@{address}/{DATABASE}"
    ))
}

/// Runs `sql` as root on the server at `url` with the MariaDB client that comes with it.
pub fn run_sql(url: &str, sql: &str) -> Result<()> {
    let port = url
        .rsplit(':')
        .next()
        .ok_or_else(|| anyhow!("no port in {url}"))?;
    let client = preflight::locate(Tool::MariadbClient, &["mariadb", "mysql"])?;
    let output = Command::new(client)
        .args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            port,
            "-u",
            "root",
            "-e",
        ])
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .context("could not run the MariaDB client")?;
    if !output.status.success() {
        bail!(
            "`{sql}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// An admin subcommand of the binary (`migrate`, `user add`, `api-key create`), with `stdin` as
/// its input; returns what it printed on stdout.
pub fn admin(
    binary: &Path,
    database_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String> {
    let mut child = Command::new(binary)
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {}", binary.display()))?;
    if let Some(mut pipe) = child.stdin.take()
        && let Some(text) = stdin
    {
        writeln!(pipe, "{text}")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "order-manager {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// 48 random bytes, hex: the replicas' shared JWT signing secret.
pub fn random_secret() -> Result<String> {
    let mut bytes = [0_u8; 48];
    File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}
