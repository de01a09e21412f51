//! `order-manager-bench`: the benchmark harness behind `cargo xtask bench` (`run`: the stores,
//! the service, the load generators and the report), and the parts it runs as processes of
//! their own: those that talk to MariaDB directly, and the chart. Each of those prints one JSON
//! object on stdout.

mod bulk;
mod ceiling;
mod chart;
mod data;
mod run;
mod seed;
mod statements;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "order-manager-bench",
    about = "The benchmark harness behind `cargo xtask bench`, and its helpers."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure the service against MariaDB's own ceiling: private stores, the server, every
    /// scenario, and the report (what `cargo xtask bench` runs once it has built the binaries).
    Run(run::RunArgs),
    #[command(flatten)]
    Helper(Helper),
}

/// The subcommands the harness runs as processes of their own.
#[derive(Debug, Subcommand)]
enum Helper {
    /// Write seeded orders (and their aggregates) straight into the tables.
    Seed(seed::SeedArgs),
    /// The ingest ceiling: the service's write statements, without the service.
    IngestCeiling(ceiling::IngestCeilingArgs),
    /// The read ceiling: the items query of random customers, without the service.
    ReadCeiling(ceiling::CeilingArgs),
    /// Write the bulk import benchmark's NDJSON file.
    ImportFile(bulk::ImportFileArgs),
    /// The bulk import ceiling: the same orders in the import's transactions, one connection.
    ImportCeiling(bulk::ImportCeilingArgs),
    /// Draw report.json's chart as SVG.
    Chart(chart::ChartArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        // Synchronous: it waits for processes, and starts a runtime only for its own statements.
        Command::Run(args) => run::run(&args).map(|()| None),
        Command::Helper(helper) => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(run_helper(helper))),
    };
    match result {
        Ok(Some(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("order-manager-bench: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Its JSON, for the helpers that print one.
async fn run_helper(helper: Helper) -> anyhow::Result<Option<serde_json::Value>> {
    match helper {
        Helper::Seed(args) => seed::run(&args).await.map(Some),
        Helper::IngestCeiling(args) => ceiling::ingest(&args).await.map(Some),
        Helper::ReadCeiling(args) => ceiling::read(&args).await.map(Some),
        Helper::ImportFile(args) => bulk::write_file(&args).map(Some),
        Helper::ImportCeiling(args) => bulk::ceiling(&args).await.map(Some),
        Helper::Chart(args) => chart::run(&args).map(|()| None),
    }
}
