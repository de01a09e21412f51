//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.

use anyhow::Result;
use testkit::mariadb::MariaDb;
use testkit::redis::Redis;
use testkit::stores::{MYSQL_URL_VAR as TEST_MYSQL_URL_VAR, REDIS_URL_VAR as TEST_REDIS_URL_VAR};

use crate::cargo::{DebugServer, cargo, run_inherited};
use crate::preflight;
use crate::step_timer::StepTimer;

pub fn run() -> Result<()> {
    let mut timer = StepTimer::default();
    let result = run_steps(&mut timer);
    // The summary comes last, so that it is the closing line of the CI log.
    if let Err(err) = &result {
        eprintln!("xtask: error: {err:#}");
    }
    eprintln!("{}", timer.summary("xtask ci"));
    result.map_err(|_| AlreadyReported.into())
}

fn run_steps(timer: &mut StepTimer) -> Result<()> {
    // Before anything else, so that a missing tool stops the run within seconds, not after
    // twenty minutes, and every step finds what it uses (xtask/src/preflight.rs).
    let test_path = timer.run("preflight", || {
        preflight::ensure("ci", preflight::CI)?;
        preflight::ensure_nextest()
    })?;
    // Formatting first: it takes a second and fails most often.
    timer.run("fmt", || {
        run_inherited(&mut cargo(["fmt", "--all", "--", "--check"]))
    })?;
    timer.run("clippy", || {
        run_inherited(&mut cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The Python tools of the deployment checks (crates/deploy-checks), which run in the test
    // pass below; the preflight has installed their system tools.
    timer.run("deploy tools", crate::deploy_check::Tools::ensure)?;
    // schemathesis and playwright-core, for the API contract tests of the end-to-end suite
    // (crates/server/tests/e2e), which run in the test pass below with the cluster scenarios.
    crate::api_contract::install_tools(timer)?;
    // Both offer TLS from a CA of their own, and every test reaches them over TLS, verifying
    // the certificate and host name as production does.
    let mariadb = timer.run("mariadb start", MariaDb::start_throwaway)?;
    let mysql_url = mariadb.tls_url().unwrap_or_else(|| mariadb.url());
    eprintln!("xtask: MariaDB {} at {mysql_url}", mariadb.server_version());
    // Should this fail, MariaDb's Drop stops MariaDB.
    let redis = timer.run("redis start", Redis::start_throwaway)?;
    let redis_url = redis.tls_url().unwrap_or_else(|| redis.url());
    eprintln!("xtask: Redis at {redis_url}");
    let tests = timer.run("test", || {
        // nextest: one process per test, and a closing summary line that counts every test.
        let mut test = cargo(["nextest", "run", "--workspace", "--all-features"]);
        test.env("PATH", &test_path);
        test.env(TEST_MYSQL_URL_VAR, &mysql_url);
        test.env(TEST_REDIS_URL_VAR, &redis_url);
        run_inherited(&mut test)
    });
    // Stopped (and timed) whether or not the tests passed; were this skipped, the Drop of
    // MariaDb and Redis would still stop them.
    let stopped = timer.run("mariadb stop", || mariadb.stop());
    let redis_stopped = timer.run("redis stop", || redis.stop());
    tests.and(stopped).and(redis_stopped)?;
    timer.run("fuzz", || {
        crate::fuzz::run_for(std::time::Duration::from_secs(60))
    })?;
    // wrk, the font and oha's first build (about four minutes in a fresh clone).
    timer.run("bench tools", || crate::bench::ensure_tools().map(drop))?;
    // A smoke test of the benchmark harness (private stores, every scenario briefly) on the
    // debug build the tests made: a release build would add five minutes to CI for figures
    // nobody reads. The figures to publish come from a full `cargo xtask bench`.
    timer.run("bench --quick", || {
        crate::bench::run(
            &crate::bench::BenchArgs {
                quick: true,
                dev_build: true,
                server_env: Vec::new(),
            },
            DebugServer::Reuse,
        )
    })
}

/// An error whose message was already printed, so that `main` only sets the exit code.
#[derive(Debug)]
pub struct AlreadyReported;

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed (reported above)")
    }
}

impl std::error::Error for AlreadyReported {}
