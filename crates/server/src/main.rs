use clap::Parser;
use server::cli::{Cli, Command};
use server::telemetry::{self, LogTarget};

/// mimalloc instead of glibc's malloc: see the workspace's dependency table.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = match cli.command {
        None | Some(Command::Serve) => LogTarget::Stdout,
        Some(_) => LogTarget::Stderr,
    };
    // Dropped when main returns, after the server stopped: the last log lines are flushed.
    let _log_guard = telemetry::init(cli.serve.log_format, target);
    match cli.command {
        None | Some(Command::Serve) => server::startup::serve(cli.serve).await,
        Some(Command::Migrate) => server::database::migrate(&cli.serve.database).await,
        Some(Command::User(command)) => server::admin::user(&cli.serve, command).await,
        Some(Command::ApiKey(command)) => server::admin::api_key(&cli.serve, command).await,
    }
}
