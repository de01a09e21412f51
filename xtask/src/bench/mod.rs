//! `cargo xtask bench [--quick]`: how fast the service is, against what MariaDB itself does with
//! the same rows on the same machine in the same run.
//!
//! The release binaries, a private MariaDB and Redis, the server on MySQL with API-key
//! authentication and the Redis rate limiter on (with a budget too large to refuse anything, so
//! that every request still pays for the check). Bulk seeding straight into the tables
//! (`order-manager-bench seed`), then the scenarios of issue #9 (see `scenarios.rs`). All traffic
//! stays on 127.0.0.1; every run is bounded in time, and one with a failed request fails the
//! bench. Output: `target/bench/report.{json,md}` and `chart.svg`; a full run also rewrites
//! `docs/benchmarks.md`, `docs/benchmarks.json` and `docs/benchmarks.svg`.

mod bulk;
mod load;
mod report;
mod rss;
mod scenarios;
mod server_metrics;
mod tools;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use testkit::mariadb::MariaDb;
use testkit::ports::free_port;
use testkit::redis::Redis;

use crate::cargo::{DebugServer, cargo, debug_server, run_inherited, workspace_root};
use crate::cluster::{DATABASE, Replica, admin, create_database, random_secret};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A smoke test of the harness (under 5 minutes once built): a 100K-item store, fewer and
    /// shorter runs. Its figures are not the ones to publish.
    #[arg(long)]
    pub quick: bool,
    /// Measure the debug build as it is (CI: its test step has just built it) instead of
    /// building release. Only to exercise the harness: debug figures mean nothing.
    #[arg(long)]
    pub dev_build: bool,
    /// `NAME=VALUE` set in the server's environment over the bench's own settings, to compare
    /// variants (e.g. `ORDER_MANAGER_WRITE_GROUP_MAX_REQUESTS=1`); repeatable.
    #[arg(long = "server-env", value_parser = parse_server_env)]
    pub server_env: Vec<(String, String)>,
}

fn parse_server_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// Sizes and durations of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    /// The debug build was measured (`--dev-build`).
    pub debug_build: bool,
    /// Customers `c0..`; a power of ten, so that `c[0-9]{width}` names exactly them.
    pub customers: u64,
    /// Orders (of three items) in the small and the large store.
    pub small_orders: u64,
    pub large_orders: u64,
    /// Seconds per measured run.
    pub secs: f64,
    /// Clients of the ingest runs, rising.
    pub ingest_concurrency: Vec<usize>,
    pub batches: Vec<usize>,
    /// Clients of the read runs.
    pub read_concurrency: Vec<usize>,
    /// Turns of service and raw ceiling per read concurrency; each side keeps its best.
    pub read_rounds: usize,
    /// The service's pool, which the ceilings use as well.
    pub db_connections: u32,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                debug_build: false,
                customers: 10_000,
                small_orders: 3_334,
                large_orders: 33_334,
                secs: 2.0,
                ingest_concurrency: vec![4, 32],
                batches: vec![1, 10, 100],
                read_concurrency: vec![32],
                read_rounds: 1,
                db_connections: 10,
            }
        } else {
            Self {
                quick,
                debug_build: false,
                customers: 100_000,
                small_orders: 3_334,
                large_orders: 333_334,
                secs: 8.0,
                ingest_concurrency: vec![1, 4, 16, 64],
                batches: vec![1, 10, 100],
                read_concurrency: vec![16, 64],
                read_rounds: 2,
                db_connections: 10,
            }
        }
    }
}

/// Everything a scenario needs: where the service is and how to reach the database directly.
#[derive(Debug)]
pub struct Bench {
    pub plan: Plan,
    pub base: String,
    pub api_key: String,
    pub database_url: String,
    /// The MariaDB server's URL, without a database (for server settings).
    pub server_url: String,
    pub bench_tool: PathBuf,
    /// `order-manager` itself, for the bulk import and export.
    pub server_binary: PathBuf,
    pub oha: PathBuf,
    pub lua_script: PathBuf,
    pub server: Replica,
    /// The server's Prometheus listener.
    pub metrics_port: u16,
    pub rss: rss::RssSampler,
}

/// Installs wrk and the chart's font and builds oha when missing; CI runs it as a step of its own
/// so that the time of the smoke run is the harness's, not oha's first build.
pub fn ensure_tools() -> Result<()> {
    tools::ensure().map(drop)
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    let plan = Plan {
        debug_build: args.dev_build,
        ..Plan::new(args.quick)
    };
    let tools = tools::ensure()?;
    let target = workspace_root().join("target");
    let (server_binary, bench_tool) = if args.dev_build {
        run_inherited(&mut cargo(["build", "-p", "order-manager-bench"]))?;
        (
            debug_server(DebugServer::Reuse)?,
            target.join("debug").join("order-manager-bench"),
        )
    } else {
        run_inherited(&mut cargo([
            "build",
            "--release",
            "-p",
            "order-manager-server",
            "-p",
            "order-manager-bench",
        ]))?;
        (
            target.join("release").join("order-manager"),
            target.join("release").join("order-manager-bench"),
        )
    };
    let out_dir = target.join("bench");
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;

    let mariadb = MariaDb::start_throwaway()?;
    let redis = Redis::start_throwaway()?;
    create_database(&mariadb.url())?;
    let database_url = format!("{}/{DATABASE}", mariadb.url());
    admin(&server_binary, &database_url, &["migrate"], None)?;
    let api_key = admin(
        &server_binary,
        &database_url,
        &[
            "api-key",
            "create",
            "--name",
            "bench",
            "--scope",
            "orders:write",
            "--scope",
            "customers:read",
        ],
        None,
    )?
    .trim()
    .to_owned();

    let port = free_port()?;
    let metrics_port = free_port()?;
    let env = [
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", redis.url()),
        ("ORDER_MANAGER_JWT_SECRET", random_secret()?),
        ("ORDER_MANAGER_BIND", format!("127.0.0.1:{port}")),
        (
            "ORDER_MANAGER_METRICS_BIND",
            format!("127.0.0.1:{metrics_port}"),
        ),
        // Checked on every request (a Redis round trip), never refused: the bench measures the
        // limiter's cost, not its verdicts.
        ("ORDER_MANAGER_RATE_LIMIT_RPS", "1000000".to_owned()),
        ("ORDER_MANAGER_RATE_LIMIT_BURST", "1000000".to_owned()),
        (
            "ORDER_MANAGER_DB_MAX_CONNECTIONS",
            plan.db_connections.to_string(),
        ),
        ("ORDER_MANAGER_LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .to_vec();
    let mut env = env;
    for (name, value) in &args.server_env {
        env.retain(|(existing, _)| existing != name);
        env.push((name.clone(), value.clone()));
    }
    // The log of an earlier run would only confuse.
    fs::remove_file(out_dir.join("server.log")).ok();
    let server = Replica::start(
        0,
        port,
        server_binary.clone(),
        env,
        out_dir.join("server.log"),
    )?;
    let pid = server.pid().context("the server is not running")?;
    let mut bench = Bench {
        base: server.base(),
        plan,
        api_key,
        database_url,
        server_url: mariadb.url(),
        bench_tool,
        server_binary,
        oha: tools.oha,
        lua_script: workspace_root()
            .join("xtask")
            .join("src")
            .join("bench")
            .join("wrk.lua"),
        server,
        metrics_port,
        rss: rss::RssSampler::start(pid),
    };
    let measured = scenarios::run_all(&mut bench);
    let stopped = bench.server.terminate();
    let mariadb_version = mariadb.server_version().to_owned();
    let redis_stopped = redis.stop();
    let mariadb_stopped = mariadb.stop();
    let mut report = measured?;
    stopped.and(redis_stopped).and(mariadb_stopped)?;
    report.finish(
        &bench.plan,
        &mariadb_version,
        started.elapsed().as_secs_f64(),
    );
    report::write(&report, &out_dir, &bench.bench_tool, &bench.plan)?;
    eprintln!(
        "xtask: bench done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        out_dir.join("report.md").display()
    );
    Ok(())
}
