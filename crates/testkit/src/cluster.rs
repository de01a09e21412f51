//! A scale-out cluster on this machine: a private MariaDB and Redis (the same Drop-guarded
//! instances the tests use), the schema migrated, three `order-manager` replicas of the binary
//! the caller names, and a real nginx in front terminating TLS with the shipped
//! `deploy/nginx/order-manager.conf`. The end-to-end suite's cluster scenarios and
//! `cargo xtask cluster up` start it.
//!
//! Addresses, so that the trust decision means something: the replicas and nginx listen on
//! 127.0.0.1, nginx reaches the replicas from 127.0.0.1, and the replicas trust only that
//! address (`ORDER_MANAGER_TRUSTED_PROXIES=127.0.0.1/32`). Clients bind other loopback
//! addresses (127.0.0.2 and up), so their own address is what a replica must rate-limit,
//! whether they come through nginx (then from `X-Forwarded-For`) or straight to a replica.
//!
//! Every process is owned by a guard that stops it on Drop, so the cluster is torn down even
//! when a scenario fails. State for `cargo xtask cluster down` and logs live in
//! `target/cluster/`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::mariadb::MariaDb;
use crate::nginx::Nginx;
use crate::ports::free_port;
use crate::process::OnDrop;
use crate::programs::{locate, run_to_success};
use crate::redis::Redis;
use crate::server::{Launch, Ready, Server};

/// The admin user a cluster is created with.
pub const ADMIN_USER: &str = "cluster-admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "a long cluster rehearsal password";
/// The database the replicas use.
pub const DATABASE: &str = "order_manager";
const REPLICAS: usize = 3;
/// Seconds a SIGTERMed replica keeps serving (readiness 503) before closing its listener:
/// shorter than production's 5 s, to keep the scenarios quick; long enough for in-flight requests.
const SHUTDOWN_DELAY_SECS: &str = "2";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `target/cluster` (or under `CARGO_TARGET_DIR`): the cluster's logs and its state file.
pub fn cluster_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::workspace_root().join("target"), PathBuf::from)
        .join("cluster")
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
    /// Starts the stores, three replicas of `binary` and nginx, in [`cluster_dir`].
    pub fn start(binary: &Path) -> Result<Self> {
        let dir = cluster_dir();
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let nginx_binary = locate(&["nginx"], "nginx")?;
        eprintln!("cluster: nginx at {}", nginx_binary.display());

        let mariadb = MariaDb::start_throwaway()?;
        let redis = Redis::start_throwaway()?;
        create_database(&mariadb.url())?;
        // Migrations as root (production's migration user); everything else as the data-only
        // runtime user, as the replicas run in production.
        admin(
            binary,
            &format!("{}/{DATABASE}", mariadb.url()),
            &["migrate"],
            None,
        )?;
        let database_url = create_runtime_user(&mariadb.url())?;
        admin(
            binary,
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
            replicas.push(Replica::start(index, port, binary.to_path_buf(), env, log)?);
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
            "cluster: up: nginx https://127.0.0.1:{} -> replicas on ports {ports:?}",
            cluster.nginx.port
        );
        Ok(cluster)
    }

    /// `NAME PID` lines for `cargo xtask cluster down`.
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

    /// nginx's HTTPS address.
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.nginx.port)
    }

    /// Fails if MariaDB or Redis died under the suite.
    pub fn check_stores(&mut self) -> Result<()> {
        self.mariadb.check_running()?;
        self.redis.check_running()
    }

    /// Stops nginx, the replicas and the stores, in that order, and says what failed.
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
    let client = locate(&["mariadb", "mysql"], "mariadb-client")?;
    run_to_success(
        Command::new(client)
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
            .arg(sql),
        &format!("`{sql}`"),
    )
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
