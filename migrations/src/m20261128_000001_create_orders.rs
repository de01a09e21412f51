//! Orders, their items, and per-customer aggregates.
//!
//! Ids are compared exactly (see `exact_text`).

use sea_orm_migration::prelude::*;

use crate::exact_text::{exact_text_column, exact_text_type};

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let id_type = exact_text_type(manager, 64).await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(exact_text_column(Orders::OrderId, id_type.as_ref()).primary_key())
                    .col(exact_text_column(Orders::CustomerId, id_type.as_ref()))
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
                    .col(exact_text_column(OrderItems::CustomerId, id_type.as_ref()))
                    .col(ColumnDef::new(OrderItems::OrderTs).big_integer().not_null())
                    .col(exact_text_column(OrderItems::OrderId, id_type.as_ref()))
                    .col(ColumnDef::new(OrderItems::Position).integer().not_null())
                    .col(exact_text_column(OrderItems::ItemId, id_type.as_ref()))
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
                    .col(
                        exact_text_column(CustomerSummaries::CustomerId, id_type.as_ref())
                            .primary_key(),
                    )
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
