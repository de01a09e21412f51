//! The order store on a relational database through sea-orm: SQLite (embedded default) or
//! MySQL / MariaDB / Percona XtraDB Cluster.

mod api_key_store;
mod connect;
mod entities;
mod errors;
mod first_page_reads;
mod item_rows;
mod order_store;
mod resilience;
mod user_store;

pub use api_key_store::SqlApiKeyStore;
pub use connect::{DatabaseSettings, PING_IF_IDLE_FOR, connect, pool_usage};
pub use errors::store_error;
pub use order_store::SqlOrderStore;
pub use resilience::{Retryable, SqlResilience};
pub use sea_orm::DatabaseConnection;
pub use user_store::SqlUserStore;

/// Milliseconds since the epoch as stored (BIGINT); far within range until the year 292 million.
fn millis_to_db(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}
