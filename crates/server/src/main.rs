use clap::Parser;
use server::cli::{Cli, Command};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    server::telemetry::init(cli.serve.log_format);
    match cli.command {
        None | Some(Command::Serve) => server::startup::serve(cli.serve).await,
        Some(Command::Migrate) => server::startup::migrate(&cli.serve.database).await,
    }
}
