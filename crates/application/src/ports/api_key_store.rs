use async_trait::async_trait;
use domain::Scopes;

use super::StoreError;

/// An API key as stored: never the key itself, only its SHA-256 digest and a short prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The public start of the key (`omk_` + 8 characters): shown in lists, logs and `revoke`.
    pub prefix: String,
    /// Lowercase hex SHA-256 of the whole key.
    pub digest: String,
    pub name: String,
    pub scopes: Scopes,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub revoked_at: Option<u64>,
    pub last_used_at: Option<u64>,
}

/// API keys for scripts and shops.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Marks the key revoked; `false` when no unrevoked key has this prefix.
    async fn revoke(&self, prefix: &str, at_ms: u64) -> Result<bool, StoreError>;
    async fn list(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Records when keys were last used, in one write for many requests.
    async fn record_usage(&self, used: &[(String, u64)]) -> Result<(), StoreError>;
}
