//! Statements the harness sends as root to the bench's MariaDB: its databases and a server
//! setting, over the same driver as the ceilings (no MariaDB client program needed).

use anyhow::{Context, Result};
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection};

/// `CREATE DATABASE name` on the server at `server_url` (no database in it); the new
/// database's URL.
pub fn create_database(server_url: &str, name: &str) -> Result<String> {
    execute(
        server_url,
        &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
    )?;
    Ok(format!("{server_url}/{name}"))
}

/// Runs `sql` on the server at `server_url`, on a connection of its own.
pub fn execute(server_url: &str, sql: &str) -> Result<()> {
    // The harness itself is synchronous (it waits for processes); only these statements are not.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime for a statement")?;
    runtime.block_on(async {
        let mut connection = MySqlConnection::connect(server_url)
            .await
            .with_context(|| format!("cannot connect to {server_url}"))?;
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&mut connection)
            .await
            .with_context(|| format!("`{sql}` failed"))?;
        connection
            .close()
            .await
            .context("cannot close the connection")
    })
}
