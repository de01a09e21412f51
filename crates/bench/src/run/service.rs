//! The service under measurement: a database of its own on the bench's MariaDB, migrated, an
//! API key, and `order-manager serve` (testkit's launcher of the built binary) on free ports
//! with the bench's settings.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rand::Rng;
use testkit::ports::free_port;
use testkit::process::OnDrop;
use testkit::server::{Launch, Ready, Server};

use super::child::admin;
use super::database::create_database;
use super::plan::Plan;

/// The service's database on the bench's MariaDB.
const DATABASE: &str = "order_manager";

/// The running server and how to reach it.
#[derive(Debug)]
pub struct Service {
    pub server: Server,
    /// The server's Prometheus listener.
    pub metrics_port: u16,
    pub database_url: String,
    pub api_key: String,
}

impl Service {
    /// Prepares the database and starts the server, ready once `/readyz` answers 200; its
    /// log is `out_dir/server.log`. `overrides` replace the bench's own settings.
    pub fn start(
        binary: &Path,
        mariadb_url: &str,
        redis_url: &str,
        plan: &Plan,
        overrides: &[(String, String)],
        out_dir: &Path,
    ) -> Result<Self> {
        let database_url = create_database(mariadb_url, DATABASE)?;
        admin(binary, &database_url, &["migrate"])?;
        let api_key = admin(
            binary,
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
        )?
        .trim()
        .to_owned();

        let port = free_port()?;
        let metrics_port = free_port()?;
        let mut env = [
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", redis_url.to_owned()),
            ("ORDER_MANAGER_JWT_SECRET", random_secret()),
            ("ORDER_MANAGER_BIND", format!("127.0.0.1:{port}")),
            (
                "ORDER_MANAGER_METRICS_BIND",
                format!("127.0.0.1:{metrics_port}"),
            ),
            // Checked on every request (a Redis round trip), never refused: the bench measures
            // the limiter's cost, not its verdicts.
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
        for (name, value) in overrides {
            env.retain(|(existing, _)| existing != name);
            env.push((name.clone(), value.clone()));
        }

        let log = out_dir.join("server.log");
        // The log of an earlier run would only confuse.
        fs::remove_file(&log).ok();
        let mut launch = Launch::new(binary);
        launch.args = vec!["serve".to_owned()];
        launch.env = env;
        launch.env_clear = true;
        launch.current_dir = Some(out_dir.to_path_buf());
        launch.ready = Ready::Http {
            port,
            path: "/readyz",
            timeout: Duration::from_secs(60),
            log,
        };
        launch.stop_timeout = Duration::from_secs(20);
        launch.on_drop = OnDrop::Kill;
        let server = Server::start(launch).context("the server under measurement")?;
        Ok(Self {
            server,
            metrics_port,
            database_url,
            api_key,
        })
    }
}

/// 48 random bytes, hex: the server's JWT signing secret (no session is ever signed here,
/// but the server will not start without one).
fn random_secret() -> String {
    let bytes: [u8; 48] = rand::rng().random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
