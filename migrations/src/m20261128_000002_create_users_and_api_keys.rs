//! Users (argon2id password hashes) and API keys (SHA-256 digests only, never the keys).

use sea_orm_migration::prelude::*;

use crate::exact_text::{exact_text_column, exact_text_type};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Username,
    PasswordHash,
    Scopes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Prefix,
    Digest,
    Name,
    Scopes,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let name_type = exact_text_type(manager, 64).await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(exact_text_column(Users::Username, name_type.as_ref()).primary_key())
                    .col(
                        ColumnDef::new(Users::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Users::Scopes).string_len(255).not_null())
                    .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(exact_text_column(ApiKeys::Prefix, name_type.as_ref()).primary_key())
                    .col(exact_text_column(ApiKeys::Digest, name_type.as_ref()))
                    .col(ColumnDef::new(ApiKeys::Name).string_len(128).not_null())
                    .col(ColumnDef::new(ApiKeys::Scopes).string_len(255).not_null())
                    .col(ColumnDef::new(ApiKeys::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ApiKeys::RevokedAt).big_integer().null())
                    .col(ColumnDef::new(ApiKeys::LastUsedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_digest")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::Digest)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [ApiKeys::Table.into_iden(), Users::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
