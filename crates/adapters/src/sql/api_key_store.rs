use application::ports::{ApiKeyRecord, ApiKeyStore, StoreError};
use async_trait::async_trait;
use domain::Scopes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::entities::{api_keys, millis_to_db};
use super::errors::{corrupt, store_error};
use super::resilience::SqlResilience;

/// API keys in the `api_keys` table (SQLite or MySQL): digests and prefixes, never keys.
#[derive(Debug, Clone)]
pub struct SqlApiKeyStore {
    db: DatabaseConnection,
    resilience: SqlResilience,
}

impl SqlApiKeyStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_resilience(db, SqlResilience::default())
    }

    /// With explicit deadlines and retries of lock conflicts.
    pub fn with_resilience(db: DatabaseConnection, resilience: SqlResilience) -> Self {
        Self { db, resilience }
    }

    async fn record_usage_once(&self, used: &[(String, u64)]) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(store_error)?;
        for (prefix, at_ms) in used {
            api_keys::Entity::update_many()
                .col_expr(
                    api_keys::Column::LastUsedAt,
                    Expr::value(millis_to_db(*at_ms)),
                )
                .filter(api_keys::Column::Prefix.eq(prefix.as_str()))
                .exec(&txn)
                .await
                .map_err(store_error)?;
        }
        txn.commit().await.map_err(store_error)
    }
}

fn millis_from_db(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(what))
}

fn record(row: api_keys::Model) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        scopes: Scopes::parse_list(&row.scopes).map_err(|_| corrupt("api_keys.scopes"))?,
        created_at: millis_from_db(row.created_at, "api_keys.created_at")?,
        revoked_at: row
            .revoked_at
            .map(|v| millis_from_db(v, "api_keys.revoked_at"))
            .transpose()?,
        last_used_at: row
            .last_used_at
            .map(|v| millis_from_db(v, "api_keys.last_used_at"))
            .transpose()?,
        prefix: row.prefix,
        digest: row.digest,
        name: row.name,
    })
}

#[async_trait]
impl ApiKeyStore for SqlApiKeyStore {
    async fn insert(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let row = api_keys::ActiveModel {
            prefix: Set(key.prefix.clone()),
            digest: Set(key.digest.clone()),
            name: Set(key.name.clone()),
            scopes: Set(key.scopes.to_string()),
            created_at: Set(millis_to_db(key.created_at)),
            revoked_at: Set(key.revoked_at.map(millis_to_db)),
            last_used_at: Set(key.last_used_at.map(millis_to_db)),
        };
        api_keys::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        api_keys::Entity::find()
            .filter(api_keys::Column::Digest.eq(digest))
            .one(&self.db)
            .await
            .map_err(store_error)?
            .map(record)
            .transpose()
    }

    async fn revoke(&self, prefix: &str, at_ms: u64) -> Result<bool, StoreError> {
        let result = api_keys::Entity::update_many()
            .col_expr(
                api_keys::Column::RevokedAt,
                Expr::value(millis_to_db(at_ms)),
            )
            .filter(api_keys::Column::Prefix.eq(prefix))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn list(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        api_keys::Entity::find()
            .order_by_asc(api_keys::Column::CreatedAt)
            .order_by_asc(api_keys::Column::Prefix)
            .all(&self.db)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn record_usage(&self, used: &[(String, u64)]) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        self.resilience
            .retry_transaction("record_api_key_usage", || self.record_usage_once(used))
            .await
    }
}
