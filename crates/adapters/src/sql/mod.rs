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
