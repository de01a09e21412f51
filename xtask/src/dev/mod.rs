//! `cargo xtask dev`: the service as production runs it (MariaDB, Redis, a stable signing
//! secret), on this machine, with credentials and, on request, sample data, in one command.

mod credentials;
mod leftovers;
mod sample_orders;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use testkit::mariadb::MariaDb;
use testkit::redis::Redis;

use crate::cargo::{cargo, run_inherited, workspace_root};
use crate::cluster::{self, DATABASE};
use crate::signals;

use credentials::Credentials;

/// How long the server may take to become ready before the banner gives up waiting.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where the stack keeps its data, credentials and pid files.
    #[arg(long, default_value = ".dev")]
    dir: PathBuf,
    /// Delete the data (orders, users, keys, sessions, the signing secret) first.
    #[arg(long)]
    reset: bool,
    /// Load this many sample orders through the import path (idempotent: the same orders every
    /// time, so a second run stores nothing new).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Use the debug build (`cargo build`): faster to rebuild after an edit, slower to run.
    #[arg(long)]
    debug: bool,
    /// Run this server binary instead of building one (the end-to-end test passes its own).
    #[arg(long, hide = true)]
    binary: Option<PathBuf>,
    /// MariaDB's port on 127.0.0.1. Not 3306, which a system MariaDB may hold.
    #[arg(long, default_value_t = 3307)]
    mariadb_port: u16,
    /// Redis's port on 127.0.0.1. Not 6379, which a system Redis may hold.
    #[arg(long, default_value_t = 6380)]
    redis_port: u16,
    /// The API's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The metrics listener's address.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics_bind: SocketAddr,
    /// Extra arguments for `order-manager serve`, after `--`.
    #[arg(last = true)]
    server_args: Vec<String>,
}

pub fn run(args: &DevArgs) -> Result<()> {
    // Built before anything starts: a compile error then fails fast, with nothing to stop.
    let binary = match &args.binary {
        Some(binary) => binary.clone(),
        None => build(args.debug)?,
    };
    let dir = workspace_root().join(&args.dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    leftovers::stop_all(&dir)?;
    if args.reset {
        reset(&dir)?;
    }

    let mariadb = MariaDb::start_persistent(
        &dir.join("mariadb"),
        args.mariadb_port,
        &format!(
            "CREATE DATABASE IF NOT EXISTS `{DATABASE}` \
             CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n"
        ),
    )?;
    leftovers::record(&dir, leftovers::MARIADB, pid(mariadb.pid())?)?;
    let redis = Redis::start_persistent(&dir.join("redis"), args.redis_port)?;
    leftovers::record(&dir, leftovers::REDIS, pid(redis.pid())?)?;

    let served = serve(args, &dir, &binary, &mariadb, &redis);
    let stopped = redis.stop();
    leftovers::forget(&dir, leftovers::REDIS);
    let stopped = stopped.and(mariadb.stop());
    leftovers::forget(&dir, leftovers::MARIADB);
    match served {
        // Stopping the server with Ctrl-C is the normal way to end a dev session.
        Err(_) if signals::received().is_some() => stopped,
        served => served.and(stopped),
    }
}

/// Prepares the database, then runs the server in the foreground until it exits.
fn serve(
    args: &DevArgs,
    dir: &Path,
    binary: &Path,
    mariadb: &MariaDb,
    redis: &Redis,
) -> Result<()> {
    let database_url = format!("{}/{DATABASE}", mariadb.url());
    cluster::admin(binary, &database_url, &["migrate"], None)?;
    let credentials = credentials::ensure(dir, binary, &database_url)?;
    let seeded = match args.seed {
        Some(orders) => Some(sample_orders::seed(dir, binary, &database_url, orders)?),
        None => None,
    };

    let mut server = Command::new(binary);
    server
        .arg("serve")
        .arg("--bind")
        .arg(args.bind.to_string())
        .arg("--metrics-bind")
        .arg(args.metrics_bind.to_string())
        .args(&args.server_args)
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", redis.url())
        // As on a replica that takes its traffic straight from clients.
        .env("ORDER_MANAGER_TRUSTED_PROXIES", "");
    if std::env::var_os("ORDER_MANAGER_JWT_SECRET").is_none() {
        // Stable across restarts, as on replicas that share a database: tokens stay valid.
        server.env("ORDER_MANAGER_JWT_SECRET", dev_secret(dir)?);
    }
    // The same process group as xtask: a Ctrl-C in the terminal reaches the server directly,
    // which then shuts down gracefully; xtask stops Redis and MariaDB after it.
    let child = signals::spawn_foreground(&mut server)
        .with_context(|| format!("could not start {}", binary.display()))?;
    leftovers::record(dir, leftovers::SERVER, child.id())?;
    let banner = Banner {
        bind: args.bind,
        database_url,
        redis_url: redis.url(),
        dir: dir.to_path_buf(),
        credentials,
        seeded: seeded.map(|summary| (summary, args.seed.unwrap_or(0))),
    };
    // On a thread, since the server holds the foreground: the banner comes once it is ready.
    thread::spawn(move || {
        if wait_ready(banner.bind) {
            println!("{}", banner.render());
        } else {
            eprintln!("xtask: the server was not ready within {READY_TIMEOUT:?}; see its log");
        }
    });
    let status = signals::wait_foreground(child)?;
    leftovers::forget(dir, leftovers::SERVER);
    if let Some(signal) = signals::received() {
        bail!("the server was stopped by {signal}");
    }
    if !status.success() {
        bail!("the server exited with {status}");
    }
    Ok(())
}

/// Builds the binary as `cargo run --release` (or `cargo run`) does: the same package, target
/// and features, so that switching between the two commands rebuilds nothing.
fn build(debug: bool) -> Result<PathBuf> {
    let mut build = cargo(["build", "--bin", "order-manager"]);
    if !debug {
        build.arg("--release");
    }
    run_inherited(&mut build)?;
    let profile = if debug { "debug" } else { "release" };
    Ok(workspace_root()
        .join("target")
        .join(profile)
        .join("order-manager"))
}

/// Deletes the data of earlier runs (never anything else in the directory).
fn reset(dir: &Path) -> Result<()> {
    eprintln!("xtask: --reset: deleting the dev data in {}", dir.display());
    for name in ["mariadb", "redis"] {
        let path = dir.join(name);
        if path.exists() {
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot delete {}", path.display()))?;
        }
    }
    for name in ["credentials", "jwt-secret"] {
        let path = dir.join(name);
        if path.exists() {
            fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
        }
    }
    Ok(())
}

/// The pid of a store that has just started (so it runs).
fn pid(pid: Option<u32>) -> Result<u32> {
    pid.context("a store exited as soon as it started")
}

/// Polls `/readyz` until it answers 200 (MariaDB and Redis reachable), or time runs out.
fn wait_ready(bind: SocketAddr) -> bool {
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if testkit::server::status(bind.port(), "/readyz") == Some(200) {
            return true;
        }
        if signals::received().is_some() {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Reads the dev signing secret, making a random one on the first run.
fn dev_secret(dir: &Path) -> Result<String> {
    let path = dir.join("jwt-secret");
    if let Ok(secret) = fs::read_to_string(&path) {
        return Ok(secret.trim().to_owned());
    }
    let secret = cluster::random_secret()?;
    fs::write(&path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret)
}

/// What a developer needs to start: addresses, credentials and commands to paste.
struct Banner {
    bind: SocketAddr,
    database_url: String,
    redis_url: String,
    dir: PathBuf,
    credentials: Credentials,
    /// The import's summary line and the number of sample orders.
    seeded: Option<(String, u64)>,
}

impl Banner {
    fn render(&self) -> String {
        let base = format!("http://{}", self.bind);
        let key = &self.credentials.api_key;
        let password = &self.credentials.admin_password;
        let user = credentials::ADMIN_USER;
        let customer = sample_orders::customer_id(0);
        let mut text = format!(
            "\norder-manager dev stack: ready\n\
             \x20 API       {base}   (docs: {base}/docs)\n\
             \x20 admin     user `{user}`, password `{password}`\n\
             \x20 API key   {key}   ({scopes})\n\
             \x20 MariaDB   {database_url}   (data in {dir}/mariadb)\n\
             \x20 Redis     {redis_url}   (sessions and rate limits; data in {dir}/redis)\n",
            scopes = credentials::API_KEY_SCOPES.join(" "),
            database_url = self.database_url,
            redis_url = self.redis_url,
            dir = self.dir.display(),
        );
        if let Some((summary, orders)) = &self.seeded {
            text.push_str(&format!(
                "  seed      {orders} sample orders of customers {customer} to {last}: {summary}\n",
                last = sample_orders::customer_id(sample_orders::customers(*orders) - 1),
            ));
        }
        text.push_str(&format!(
            "\nTry it:\n\
             \x20 curl -s -H 'X-API-Key: {key}' {base}/customers/summaries\n\
             \x20 curl -s -H 'X-API-Key: {key}' {base}/customers/{customer}/items\n\
             \x20 curl -s -X POST {base}/orders -H 'X-API-Key: {key}' -H 'Content-Type: application/json' \\\n\
             \x20   -d '[{{\"customerId\":\"{customer}\",\"orderId\":\"TRY-1\",\"timestamp\":\"1767603600000\",\"items\":[{{\"itemId\":\"SKU-10001\",\"costEur\":19.99}}]}}]'\n\
             \x20 curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\\n\
             \x20   -d '{{\"username\":\"{user}\",\"password\":\"{password}\"}}'\n\
             \nCtrl-C stops the server, Redis and MariaDB; `cargo xtask dev --reset` starts afresh.\n"
        ));
        text
    }
}
