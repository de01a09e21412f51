//! `order-manager-bench`: the parts of `cargo xtask bench` that talk to MariaDB directly or
//! draw; xtask runs the service, the load generators and writes the report.
//! Each command prints one JSON object on stdout.

mod bulk;
mod ceiling;
mod chart;
mod data;
mod seed;
mod statements;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "order-manager-bench",
    about = "Benchmark helpers for `cargo xtask bench`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Seed(args) => seed::run(&args).await.map(Some),
        Command::IngestCeiling(args) => ceiling::ingest(&args).await.map(Some),
        Command::ReadCeiling(args) => ceiling::read(&args).await.map(Some),
        Command::ImportFile(args) => bulk::write_file(&args).map(Some),
        Command::ImportCeiling(args) => bulk::ceiling(&args).await.map(Some),
        Command::Chart(args) => chart::run(&args).map(|()| None),
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
