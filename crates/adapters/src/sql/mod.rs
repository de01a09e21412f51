//! The order store on a relational database through sea-orm: SQLite (embedded default) or
//! MySQL / MariaDB / Percona XtraDB Cluster.

mod connect;
mod entities;
mod errors;
mod order_store;

pub use connect::{DatabaseSettings, connect};
pub use order_store::SqlOrderStore;
pub use sea_orm::DatabaseConnection;
