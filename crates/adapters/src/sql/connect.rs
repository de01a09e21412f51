use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};

/// A pooled connection idle at least this long is pinged before use: such a one may have been
/// dropped by the server, a proxy or a failover. One in steady use is not: pinging on every
/// checkout (sqlx's default) added a round trip to every statement.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// How to reach the database and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// Opens a connection pool. SQLite files are switched to WAL so that readers never wait for the
/// writer, and wait (instead of failing) for the write lock.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = settings.url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .min_connections(if is_sqlite { 1 } else { 0 })
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
        db.execute_unprepared("PRAGMA busy_timeout = 5000").await?;
    }
    Ok(db)
}

/// Connections of the pool right now: (open, idle, maximum), for the pool-usage metrics.
pub fn pool_usage(db: &DatabaseConnection, max_connections: u32) -> (u32, u32, u32) {
    match db.get_database_backend() {
        DatabaseBackend::MySql => {
            let pool = db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle() as u32, max_connections)
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32, max_connections)
        }
        _ => (0, 0, max_connections),
    }
}
