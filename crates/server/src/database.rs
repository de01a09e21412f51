//! Opening the database and bringing its schema up to date.

use std::path::Path;
use std::time::Duration;

use adapters::sql::{DatabaseConnection, DatabaseSettings, SqlResilience, connect};
use anyhow::{Context, bail};
use migration::{Migrator, MigratorTrait};

use crate::cli::DatabaseArgs;

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub async fn open(database: &DatabaseArgs) -> anyhow::Result<DatabaseConnection> {
    create_sqlite_directory(&database.url)?;
    let settings = DatabaseSettings {
        url: database.url.clone(),
        max_connections: database.max_connections.max(1),
        acquire_timeout: Duration::from_secs(database.acquire_timeout_secs.max(1)),
    };
    connect(&settings)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&database.url)))
}

/// Deadlines and retries of the SQL stores, from the settings.
pub fn resilience(database: &DatabaseArgs) -> SqlResilience {
    SqlResilience {
        operation_timeout: Duration::from_millis(database.operation_timeout_ms.max(1)),
        max_attempts: database.transaction_attempts.max(1),
        ..SqlResilience::default()
    }
}

/// `order-manager migrate`.
pub async fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    let db = open(database).await?;
    Migrator::up(&db, None).await.context("migration failed")?;
    tracing::info!("schema is up to date");
    Ok(())
}

/// SQLite is private to this process and always migrated; a shared MySQL schema is migrated on
/// request only, and the server refuses to run on an outdated one.
pub async fn prepare_schema(
    db: &DatabaseConnection,
    url: &str,
    migrate: bool,
) -> anyhow::Result<()> {
    if migrate || is_sqlite(url) {
        return Migrator::up(db, None).await.context("migration failed");
    }
    let pending = migration::pending_migrations(db).await.context(
        "cannot read the migration state (a new database? run `order-manager migrate` first)",
    )?;
    if !pending.is_empty() {
        bail!(
            "the database schema is missing {} migration(s): run `order-manager migrate` \
             (or start with --migrate)",
            pending.len()
        );
    }
    Ok(())
}

/// The embedded default keeps its file under `./data/`; make sure the directory exists.
fn create_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("mysql://u:secret@h:3306/db"),
            "mysql://u:***@h:3306/db"
        );
        assert_eq!(redact("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
