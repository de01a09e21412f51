//! The schema, as ordered migrations. Run by `order-manager migrate` (or at start on SQLite).

pub use sea_orm_migration::prelude::*;

mod exact_text;
mod m20261128_000001_create_orders;
mod m20261128_000002_create_users_and_api_keys;

/// Applies every migration in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_orders::Migration),
            Box::new(m20261128_000002_create_users_and_api_keys::Migration),
        ]
    }
}
