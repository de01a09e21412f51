//! API-key look-ups remembered in this process for a few seconds. Without it every request
//! signed with a key costs a database round trip before the handler's own query: half the read
//! throughput (see docs/benchmarks.md).
//!
//! The price is revocation latency: a key revoked by another process (`order-manager api-key
//! revoke`, another replica) keeps working here until its entry expires, at most the TTL.
//! Only found, unrevoked keys are cached; unknown keys always reach the store (the rate limiter
//! in front bounds how often), so a key created a moment ago works at once.

use std::time::{Duration, Instant};

use application::ports::{ApiKeyRecord, ApiKeyStore, StoreError};
use async_trait::async_trait;
use quick_cache::sync::Cache;
use std::sync::Arc;

/// Wraps another [`ApiKeyStore`]; everything but `find_by_digest` goes straight through.
pub struct CachedApiKeyStore {
    inner: Arc<dyn ApiKeyStore>,
    ttl: Duration,
    /// digest -> (when it was read, the record).
    entries: Cache<String, (Instant, ApiKeyRecord)>,
}

impl std::fmt::Debug for CachedApiKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedApiKeyStore")
            .field("ttl", &self.ttl)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl CachedApiKeyStore {
    /// At most `capacity` keys are remembered (the least used are dropped first).
    pub fn new(inner: Arc<dyn ApiKeyStore>, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner,
            ttl,
            entries: Cache::new(capacity.max(1)),
        }
    }
}

#[async_trait]
impl ApiKeyStore for CachedApiKeyStore {
    async fn insert(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.inner.insert(key).await
    }

    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        if let Some((read_at, record)) = self.entries.get(digest)
            && read_at.elapsed() < self.ttl
        {
            return Ok(Some(record));
        }
        let found = self.inner.find_by_digest(digest).await?;
        match &found {
            Some(record) if record.revoked_at.is_none() => {
                self.entries
                    .insert(digest.to_owned(), (Instant::now(), record.clone()));
            }
            _ => {
                self.entries.remove(digest);
            }
        }
        Ok(found)
    }

    async fn revoke(&self, prefix: &str, at_ms: u64) -> Result<bool, StoreError> {
        let revoked = self.inner.revoke(prefix, at_ms).await?;
        // Revocations are rare: forgetting everything is simpler than an index by prefix.
        self.entries.clear();
        Ok(revoked)
    }

    async fn list(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.list().await
    }

    async fn record_usage(&self, used: &[(String, u64)]) -> Result<(), StoreError> {
        self.inner.record_usage(used).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use application::ports::MockApiKeyStore;
    use domain::Scopes;
    use mockall::predicate::eq;

    use super::*;

    fn record(revoked_at: Option<u64>) -> ApiKeyRecord {
        ApiKeyRecord {
            prefix: "omk_abcdefgh".into(),
            digest: "d1".into(),
            name: "shop".into(),
            scopes: Scopes::default(),
            created_at: 1,
            revoked_at,
            last_used_at: None,
        }
    }

    #[tokio::test]
    async fn a_found_key_is_read_once_per_ttl() {
        let mut inner = MockApiKeyStore::new();
        inner
            .expect_find_by_digest()
            .with(eq("d1"))
            .times(2)
            .returning(|_| Ok(Some(record(None))));
        let store = CachedApiKeyStore::new(Arc::new(inner), Duration::from_millis(200), 10);
        for _ in 0..5 {
            assert_eq!(
                store.find_by_digest("d1").await.unwrap(),
                Some(record(None))
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.find_by_digest("d1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn unknown_and_revoked_keys_are_never_remembered() {
        let mut inner = MockApiKeyStore::new();
        inner
            .expect_find_by_digest()
            .with(eq("nope"))
            .times(3)
            .returning(|_| Ok(None));
        inner
            .expect_find_by_digest()
            .with(eq("d1"))
            .times(3)
            .returning(|_| Ok(Some(record(Some(5)))));
        let store = CachedApiKeyStore::new(Arc::new(inner), Duration::from_secs(60), 10);
        for _ in 0..3 {
            assert_eq!(store.find_by_digest("nope").await.unwrap(), None);
            assert_eq!(
                store
                    .find_by_digest("d1")
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked_at,
                Some(5)
            );
        }
    }

    #[tokio::test]
    async fn a_revocation_through_this_store_is_seen_at_once() {
        let mut inner = MockApiKeyStore::new();
        let mut reads = 0;
        inner.expect_find_by_digest().times(2).returning(move |_| {
            reads += 1;
            Ok(Some(record((reads > 1).then_some(9))))
        });
        inner.expect_revoke().times(1).returning(|_, _| Ok(true));
        let store = CachedApiKeyStore::new(Arc::new(inner), Duration::from_secs(60), 10);
        assert!(store.find_by_digest("d1").await.unwrap().is_some());
        assert!(store.revoke("omk_abcdefgh", 9).await.unwrap());
        let after = store.find_by_digest("d1").await.unwrap().unwrap();
        assert_eq!(after.revoked_at, Some(9));
    }
}
