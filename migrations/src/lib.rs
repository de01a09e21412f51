//! The schema, as ordered migrations. Run by `order-manager migrate` (or at start on SQLite).

pub use sea_orm_migration::prelude::*;

mod exact_text;
mod m20261128_000001_create_orders;
mod m20261128_000002_create_users_and_api_keys;
mod m20261203_000003_user_lifecycle;

/// Applies every migration in order.
#[derive(Debug)]
pub struct Migrator;

/// The names of the migrations the database has not applied, found by reading alone.
///
/// `MigratorTrait::get_pending_migrations` first creates its bookkeeping table if it is
/// missing, which takes the CREATE privilege; the service's runtime database user has data
/// privileges only (SELECT, INSERT, UPDATE, DELETE), so it checks with this instead. A database
/// that was never migrated has no such table: that is an error (run `order-manager migrate`).
pub async fn pending_migrations(db: &sea_orm::DatabaseConnection) -> Result<Vec<String>, DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    // The table `MigratorTrait` keeps by default (this Migrator does not rename it).
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await?;
    let applied = rows
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<std::collections::HashSet<_>, _>>()?;
    Ok(Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_orders::Migration),
            Box::new(m20261128_000002_create_users_and_api_keys::Migration),
            Box::new(m20261203_000003_user_lifecycle::Migration),
        ]
    }
}
