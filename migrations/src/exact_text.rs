//! Text columns compared exactly, byte for byte, on every backend.
//!
//! On MySQL/MariaDB that needs a binary *NO PAD* collation: the default collations ignore case,
//! and PAD SPACE ones treat `"01"` and `"01 "` as equal. SQLite compares text in binary already.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

/// The column type for exact text of at most `chars` characters on this server, or `None` on
/// SQLite.
pub(crate) async fn exact_text_type(
    manager: &SchemaManager<'_>,
    chars: u32,
) -> Result<Option<String>, DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DatabaseBackend::MySql {
        return Ok(None);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::MySql,
            "SELECT VERSION() AS v",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("SELECT VERSION() returned no row".into()))?;
    let version: String = row.try_get("", "v")?;
    let collation = if version.contains("MariaDB") {
        "utf8mb4_nopad_bin"
    } else {
        "utf8mb4_0900_bin"
    };
    Ok(Some(format!(
        "VARCHAR({chars}) CHARACTER SET utf8mb4 COLLATE {collation}"
    )))
}

/// A NOT NULL column of that type.
pub(crate) fn exact_text_column(name: impl IntoIden, mysql_type: Option<&String>) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match mysql_type {
        Some(mysql_type) => column.custom(Alias::new(mysql_type.as_str())),
        None => column.string(),
    };
    column.not_null();
    column
}
