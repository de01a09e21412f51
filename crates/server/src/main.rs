use std::process::ExitCode;

use clap::Parser;
use server::cli::{Cli, Command};
use server::telemetry::{self, LogTarget};

/// mimalloc instead of glibc's malloc: see the workspace's dependency table.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let target = match cli.command {
        None | Some(Command::Serve) => LogTarget::Stdout,
        Some(_) => LogTarget::Stderr,
    };
    // Dropped when main returns, after the server stopped: the last log lines are flushed.
    let _log_guard = telemetry::init(cli.serve.log_format, target);
    let done = match cli.command {
        None | Some(Command::Serve) => server::startup::serve(cli.serve).await,
        Some(Command::Migrate) => server::database::migrate(&cli.serve.database).await,
        Some(Command::User(command)) => server::admin::user(&cli.serve, command).await,
        Some(Command::ApiKey(command)) => server::admin::api_key(&cli.serve, command).await,
        // The one command whose exit status says more than success or failure.
        Some(Command::Import(args)) => return server::import::run(&cli.serve, args).await,
        Some(Command::Export(args)) => server::export::run(&cli.serve, args).await,
    };
    done.map(|()| ExitCode::SUCCESS)
}
