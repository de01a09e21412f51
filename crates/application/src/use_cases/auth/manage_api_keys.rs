use std::sync::Arc;

use domain::{Scope, Scopes};
use thiserror::Error;

use super::api_key_format;
use crate::ports::{ApiKeyRecord, ApiKeyStore, Clock};

/// Why an API key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiKeyAdminError {
    #[error("an API key needs a name of 1 to 128 characters")]
    InvalidName,
    #[error("an API key needs at least one scope")]
    NoScopes,
    #[error("no active API key has the prefix `{0}`")]
    UnknownPrefix(String),
    #[error("{0}")]
    Failed(String),
}

/// A key just created: the only moment the key itself exists outside the caller's hands.
#[derive(Clone)]
pub struct CreatedApiKey {
    pub key: String,
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

/// Use case (admin): create a scoped API key.
#[derive(Clone)]
pub struct CreateApiKey {
    keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CreateApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateApiKey").finish_non_exhaustive()
    }
}

impl CreateApiKey {
    pub fn new(keys: Arc<dyn ApiKeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    pub async fn execute(
        &self,
        name: &str,
        scopes: &[Scope],
    ) -> Result<CreatedApiKey, ApiKeyAdminError> {
        let name_chars = name.chars().count();
        if name_chars == 0 || name_chars > 128 || name.chars().any(char::is_control) {
            return Err(ApiKeyAdminError::InvalidName);
        }
        if scopes.is_empty() {
            return Err(ApiKeyAdminError::NoScopes);
        }
        let key = api_key_format::generate();
        let prefix = api_key_format::prefix(&key)
            .ok_or_else(|| ApiKeyAdminError::Failed("generated a malformed key".into()))?
            .to_owned();
        let record = ApiKeyRecord {
            prefix,
            digest: api_key_format::digest(&key),
            name: name.to_owned(),
            scopes: Scopes::new(scopes.iter().copied()),
            created_at: self.clock.now_millis(),
            revoked_at: None,
            last_used_at: None,
        };
        self.keys
            .insert(&record)
            .await
            .map_err(|e| ApiKeyAdminError::Failed(e.to_string()))?;
        Ok(CreatedApiKey { key, record })
    }
}

/// Use case (admin): revoke a key by its prefix; it stops working at once.
#[derive(Clone)]
pub struct RevokeApiKey {
    keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RevokeApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeApiKey").finish_non_exhaustive()
    }
}

impl RevokeApiKey {
    pub fn new(keys: Arc<dyn ApiKeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    pub async fn execute(&self, prefix: &str) -> Result<(), ApiKeyAdminError> {
        let revoked = self
            .keys
            .revoke(prefix, self.clock.now_millis())
            .await
            .map_err(|e| ApiKeyAdminError::Failed(e.to_string()))?;
        if revoked {
            Ok(())
        } else {
            Err(ApiKeyAdminError::UnknownPrefix(
                prefix.chars().take(64).collect(),
            ))
        }
    }
}

/// Use case (admin): list every key (prefix, name, scopes, dates), never a secret.
#[derive(Clone)]
pub struct ListApiKeys {
    keys: Arc<dyn ApiKeyStore>,
}

impl std::fmt::Debug for ListApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListApiKeys").finish_non_exhaustive()
    }
}

impl ListApiKeys {
    pub fn new(keys: Arc<dyn ApiKeyStore>) -> Self {
        Self { keys }
    }

    pub async fn execute(&self) -> Result<Vec<ApiKeyRecord>, ApiKeyAdminError> {
        self.keys
            .list()
            .await
            .map_err(|e| ApiKeyAdminError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockApiKeyStore, MockClock};

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(42u64);
        Arc::new(clock)
    }

    #[tokio::test]
    async fn a_created_key_is_stored_only_as_its_digest() {
        let mut keys = MockApiKeyStore::new();
        keys.expect_insert()
            .times(1)
            .withf(|r| r.prefix.starts_with("omk_") && r.digest.len() == 64 && r.created_at == 42)
            .returning(|_| Ok(()));
        let created = CreateApiKey::new(Arc::new(keys), clock())
            .execute("shop", &[Scope::OrdersWrite])
            .await
            .unwrap();
        assert!(created.key.starts_with(&created.record.prefix));
        assert_eq!(created.record.digest, api_key_format::digest(&created.key));
        assert_ne!(created.record.digest, created.key);
        assert!(!format!("{created:?}").contains(&created.key));
    }

    #[tokio::test]
    async fn keys_need_a_name_and_a_scope_and_revoking_unknown_ones_fails() {
        let mut keys = MockApiKeyStore::new();
        keys.expect_insert().never();
        keys.expect_revoke().returning(|_, _| Ok(false));
        let keys: Arc<dyn ApiKeyStore> = Arc::new(keys);
        let create = CreateApiKey::new(keys.clone(), clock());
        assert!(matches!(
            create.execute("", &[Scope::Admin]).await,
            Err(ApiKeyAdminError::InvalidName)
        ));
        assert!(matches!(
            create.execute("shop", &[]).await,
            Err(ApiKeyAdminError::NoScopes)
        ));
        assert!(matches!(
            RevokeApiKey::new(keys, clock()).execute("omk_nope").await,
            Err(ApiKeyAdminError::UnknownPrefix(_))
        ));
    }
}
