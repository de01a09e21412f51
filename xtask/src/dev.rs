//! `cargo xtask dev`: the server against a local MariaDB that keeps its data between runs.

use anyhow::Result;
use clap::Args;

use crate::cargo::{cargo, run_inherited, workspace_root};
use crate::mariadb::MariaDb;
use crate::signals;

/// The database the server uses; created on first start.
const DATABASE: &str = "order_manager";

#[derive(Debug, Args)]
pub struct DevArgs {
    /// TCP port for MariaDB on 127.0.0.1. Not 3306, which a system MariaDB may hold.
    #[arg(long, default_value_t = 3307)]
    port: u16,
    /// Extra arguments for `order-manager-server serve`, after `--`.
    #[arg(last = true)]
    server_args: Vec<String>,
}

pub fn run(args: &DevArgs) -> Result<()> {
    // Build before starting MariaDB: a compile error then fails fast, with nothing to stop.
    run_inherited(&mut cargo([
        "build",
        "--release",
        "-p",
        "order-manager-server",
    ]))?;

    // Under the workspace root, in the git-ignored `.dev`, so that it survives reboots and
    // `cargo clean`, and is easy to find and delete for a fresh start.
    let data_dir = workspace_root().join(".dev").join("mariadb");
    let mariadb = MariaDb::start_persistent(
        &data_dir,
        args.port,
        &format!(
            "CREATE DATABASE IF NOT EXISTS `{DATABASE}` \
             CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n"
        ),
    )?;
    let database_url = format!("{}/{DATABASE}", mariadb.url());
    eprintln!(
        "xtask: MariaDB {} at {} (data in {})",
        mariadb.server_version(),
        mariadb.url(),
        data_dir.display()
    );
    eprintln!("xtask: DATABASE_URL={database_url}");

    // A shared database needs a stable signing secret; the dev one lives beside its data.
    let secret = dev_secret(&workspace_root().join(".dev").join("jwt-secret"))?;
    eprintln!(
        "xtask: add a user with `echo \"$PASSWORD\" | DATABASE_URL={database_url} \
         cargo run --release -- user add --username admin --scope admin`"
    );
    let mut server = cargo(["run", "--release", "-p", "order-manager-server", "--"]);
    server
        .args(["serve", "--migrate"])
        .args(&args.server_args)
        .env("DATABASE_URL", &database_url);
    if std::env::var_os("ORDER_MANAGER_JWT_SECRET").is_none() {
        server.env("ORDER_MANAGER_JWT_SECRET", secret);
    }
    let served = run_inherited(&mut server);
    let stopped = mariadb.stop();
    match served {
        // Stopping the server with Ctrl-C is the normal way to end a dev session.
        Err(_) if signals::received().is_some() => stopped,
        served => served.and(stopped),
    }
}

/// Reads the dev signing secret, making a random one on the first run.
fn dev_secret(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    if let Ok(secret) = std::fs::read_to_string(path) {
        return Ok(secret.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, &secret)?;
    Ok(secret)
}
