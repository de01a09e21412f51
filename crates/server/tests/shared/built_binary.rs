//! The built `order-manager` binary, started as a user would: the launcher and the admin
//! commands both test targets run it with.

use std::process::Command;

use sea_orm::{ConnectionTrait, Database};
use testkit::server::{Launch, Server};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_order-manager");
pub(crate) const TEST_SECRET: &str = "an-end-to-end-test-secret-of-more-than-32-bytes";

/// `order-manager api-key create`, as a script would run it: the key is all of stdout.
pub(crate) fn api_key_create(env: &[(&str, &str)], scope: &str) -> String {
    let mut command = Command::new(BINARY);
    command
        .args([
            "api-key",
            "create",
            "--name",
            "e2e",
            "--scope",
            scope,
            "--scope",
            "customers:read",
        ])
        .env_remove("DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap();
    let key = key.trim_end().to_owned();
    assert!(
        key.starts_with("omk_") && !key.contains('\n'),
        "stdout must be only the key: {key}"
    );
    key
}

/// A server process that is killed when dropped, and every line it logged so far.
pub(crate) type Running = Server;

/// Starts the binary on a free port in `dir`, and reads the port from its JSON log.
pub(crate) fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut launch = Launch::new(BINARY);
    launch.current_dir = Some(dir.to_path_buf());
    launch.args = [
        "--bind",
        "127.0.0.1:0",
        "--metrics-bind",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--shutdown-delay-secs",
        "1",
    ]
    .iter()
    .chain(args)
    .map(|arg| (*arg).to_owned())
    .collect();
    launch.env_remove = vec!["DATABASE_URL".to_owned()];
    launch.env = env
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    Server::start(launch).unwrap_or_else(|err| panic!("{err:#}"))
}

/// `order-manager api-key create` of an admin key in `dir`, with the embedded default database.
pub(crate) fn api_key_create_in(dir: &std::path::Path) -> String {
    let output = Command::new(BINARY)
        .current_dir(dir)
        .args(["api-key", "create", "--name", "e2e", "--scope", "admin"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

/// `CREATE DATABASE name` on the MariaDB server at `server_url`.
pub(crate) async fn create_database(server_url: &str, name: &str) {
    let db = Database::connect(server_url).await.unwrap();
    db.execute_unprepared(&format!("CREATE DATABASE `{name}`"))
        .await
        .unwrap();
    db.close().await.unwrap();
}
