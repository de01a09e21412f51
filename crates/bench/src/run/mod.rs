//! `order-manager-bench run [--quick]` (what `cargo xtask bench` runs once it has built the
//! binaries): how fast the service is, against what MariaDB itself does with the same rows on
//! the same machine in the same run.
//!
//! A private MariaDB and Redis (testkit's launchers), the server on MySQL with API-key
//! authentication and the Redis rate limiter on (with a budget too large to refuse anything, so
//! that every request still pays for the check). Bulk seeding straight into the tables
//! (`order-manager-bench seed`), then the scenarios of issue #9 (see `scenarios/`). All traffic
//! stays on 127.0.0.1; every run is bounded in time, and one with a failed request fails the
//! bench. Output: `report.{json,md}` and `chart.svg` in `--out-dir`; a full run also rewrites
//! `benchmarks.md`, `benchmarks.json` and `benchmarks.svg` in `--docs-dir`.

mod child;
mod database;
mod http_run;
mod machine;
mod markdown;
mod oha;
mod plan;
mod report;
mod report_files;
mod rss;
mod scenarios;
mod server_metrics;
mod service;
mod wrk;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use testkit::mariadb::MariaDb;
use testkit::redis::Redis;
use testkit::server::Server;
use testkit::signals;

use plan::Plan;
use service::Service;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A smoke test of the harness (under 5 minutes once built): a 100K-item store, fewer and
    /// shorter runs. Its figures are not the ones to publish.
    #[arg(long)]
    pub quick: bool,
    /// The server measured is a debug build (CI's): only to exercise the harness, debug figures
    /// mean nothing. Marks the report and keeps the docs pages as they are.
    #[arg(long)]
    pub dev_build: bool,
    /// `NAME=VALUE` set in the server's environment over the bench's own settings, to compare
    /// variants (e.g. `ORDER_MANAGER_WRITE_GROUP_MAX_REQUESTS=1`); repeatable.
    #[arg(long = "server-env", value_parser = parse_server_env)]
    pub server_env: Vec<(String, String)>,
    /// The `order-manager` binary to measure.
    #[arg(long)]
    pub server_binary: PathBuf,
    /// The oha binary (the fixed-rate run and the summaries page).
    #[arg(long)]
    pub oha: PathBuf,
    /// Where report.{json,md}, chart.svg and the server's log go.
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Where a full run of the release build rewrites benchmarks.{md,json,svg}.
    #[arg(long)]
    pub docs_dir: PathBuf,
}

fn parse_server_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
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
    /// This binary, whose subcommands seed and measure the raw ceilings.
    pub bench_tool: PathBuf,
    /// `order-manager` itself, for the bulk import and export.
    pub server_binary: PathBuf,
    pub oha: PathBuf,
    pub lua_script: PathBuf,
    pub server: Server,
    /// The server's Prometheus listener.
    pub metrics_port: u16,
    pub rss: rss::RssSampler,
}

/// The wrk script, next to this file in the source tree: the bench runs from a clone.
fn lua_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("run")
        .join("wrk.lua")
}

pub fn run(args: &RunArgs) -> Result<()> {
    // The stores and the server are stopped by Drop guards, which a Ctrl-C would skip.
    signals::install()?;
    let started = Instant::now();
    let plan = Plan::new(args.quick, args.dev_build);
    let out_dir = &args.out_dir;
    fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;

    // The server runs in `out_dir`: a relative path would name another file there.
    let server_binary = fs::canonicalize(&args.server_binary)
        .with_context(|| format!("no server binary at {}", args.server_binary.display()))?;

    let mariadb = MariaDb::start_throwaway()?;
    let redis = Redis::start_throwaway()?;
    let Service {
        server,
        metrics_port,
        database_url,
        api_key,
    } = Service::start(
        &server_binary,
        &mariadb.url(),
        &redis.url(),
        &plan,
        &args.server_env,
        out_dir,
    )?;
    let pid = server.pid().context("the server is not running")?;
    let mut bench = Bench {
        base: server.base(),
        plan,
        api_key,
        database_url,
        server_url: mariadb.url(),
        bench_tool: std::env::current_exe().context("cannot find order-manager-bench itself")?,
        server_binary,
        oha: args.oha.clone(),
        lua_script: lua_script(),
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
    report_files::write(
        &report,
        out_dir,
        &args.docs_dir,
        &bench.bench_tool,
        &bench.plan,
    )?;
    eprintln!(
        "order-manager-bench: done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        out_dir.join("report.md").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_env_is_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_server_env("ORDER_MANAGER_X=a=b"),
            Ok(("ORDER_MANAGER_X".to_owned(), "a=b".to_owned()))
        );
        assert!(parse_server_env("ORDER_MANAGER_X").is_err());
    }

    #[test]
    fn the_wrk_script_is_where_the_run_looks_for_it() {
        assert!(lua_script().is_file(), "{}", lua_script().display());
    }
}
