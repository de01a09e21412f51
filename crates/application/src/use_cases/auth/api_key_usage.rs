use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ports::{ApiKeyStore, StoreError};

/// Remembers when each API key was last used, and writes it in one batch from time to time
/// instead of on every request.
pub struct ApiKeyUsage {
    store: Arc<dyn ApiKeyStore>,
    pending: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for ApiKeyUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyUsage").finish_non_exhaustive()
    }
}

impl ApiKeyUsage {
    pub fn new(store: Arc<dyn ApiKeyStore>) -> Self {
        Self {
            store,
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn note(&self, prefix: &str, at_ms: u64) {
        if let Ok(mut pending) = self.pending.lock() {
            let last = pending.entry(prefix.to_owned()).or_default();
            *last = (*last).max(at_ms);
        }
    }

    /// Writes what was noted since the last flush. On failure the usage is kept for next time.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let batch: Vec<(String, u64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(0),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(err) = self.store.record_usage(&batch).await {
            for (prefix, at) in batch {
                self.note(&prefix, at);
            }
            return Err(err);
        }
        Ok(batch.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockApiKeyStore;

    #[tokio::test]
    async fn many_uses_make_one_write_with_the_latest_time() {
        let mut store = MockApiKeyStore::new();
        store
            .expect_record_usage()
            .times(1)
            .withf(|used| used == [("omk_a".to_string(), 30)])
            .returning(|_| Ok(()));
        let usage = ApiKeyUsage::new(Arc::new(store));
        usage.note("omk_a", 10);
        usage.note("omk_a", 30);
        usage.note("omk_a", 20);
        assert_eq!(usage.flush().await, Ok(1));
        assert_eq!(usage.flush().await, Ok(0));
    }

    #[tokio::test]
    async fn a_failed_write_is_retried_at_the_next_flush() {
        let mut store = MockApiKeyStore::new();
        let mut calls = 0;
        store.expect_record_usage().times(2).returning(move |_| {
            calls += 1;
            if calls == 1 {
                Err(StoreError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        });
        let usage = ApiKeyUsage::new(Arc::new(store));
        usage.note("omk_a", 10);
        assert!(usage.flush().await.is_err());
        assert_eq!(usage.flush().await, Ok(1));
    }
}
