//! Orders, their items, and per-customer aggregates.
//!
//! Ids are compared exactly. On MySQL/MariaDB that needs a binary *NO PAD* collation: the
//! default collations ignore case, and PAD SPACE ones treat `"01"` and `"01 "` as equal.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    OrderId,
    CustomerId,
    OrderTs,
    ItemCount,
    TotalCents,
    Fingerprint,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    CustomerId,
    OrderTs,
    OrderId,
    Position,
    ItemId,
    CostCents,
}

#[derive(DeriveIden)]
enum CustomerSummaries {
    Table,
    CustomerId,
    ItemCount,
    TotalCents,
}

/// The column type of ids on this server, or none on SQLite (where text compares binary).
async fn id_type(manager: &SchemaManager<'_>) -> Result<Option<&'static str>, DbErr> {
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
    Ok(Some(if version.contains("MariaDB") {
        "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    } else {
        "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin"
    }))
}

fn id_column(name: impl IntoIden, mysql_type: Option<&'static str>) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match mysql_type {
        Some(mysql_type) => column.custom(Alias::new(mysql_type)),
        None => column.string_len(64),
    };
    column.not_null();
    column
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let id_type = id_type(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(id_column(Orders::OrderId, id_type).primary_key())
                    .col(id_column(Orders::CustomerId, id_type))
                    .col(ColumnDef::new(Orders::OrderTs).big_integer().not_null())
                    .col(ColumnDef::new(Orders::ItemCount).integer().not_null())
                    .col(ColumnDef::new(Orders::TotalCents).big_integer().not_null())
                    .col(ColumnDef::new(Orders::Fingerprint).char_len(64).not_null())
                    .col(ColumnDef::new(Orders::ReceivedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // The clustered key is the listing order of a customer's items, so reading a page of
        // them is one range scan.
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .if_not_exists()
                    .col(id_column(OrderItems::CustomerId, id_type))
                    .col(ColumnDef::new(OrderItems::OrderTs).big_integer().not_null())
                    .col(id_column(OrderItems::OrderId, id_type))
                    .col(ColumnDef::new(OrderItems::Position).integer().not_null())
                    .col(id_column(OrderItems::ItemId, id_type))
                    .col(
                        ColumnDef::new(OrderItems::CostCents)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(OrderItems::CustomerId)
                            .col(OrderItems::OrderTs)
                            .col(OrderItems::OrderId)
                            .col(OrderItems::Position),
                    )
                    .to_owned(),
            )
            .await?;
        // Maintained in the same transaction as every order insert: summaries are read from
        // here, never computed by scanning items.
        manager
            .create_table(
                Table::create()
                    .table(CustomerSummaries::Table)
                    .if_not_exists()
                    .col(id_column(CustomerSummaries::CustomerId, id_type).primary_key())
                    .col(
                        ColumnDef::new(CustomerSummaries::ItemCount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerSummaries::TotalCents)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CustomerSummaries::Table.into_iden(),
            OrderItems::Table.into_iden(),
            Orders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
