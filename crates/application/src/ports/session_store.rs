use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

/// The session store cannot be reached or did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the session store is unavailable: {0}")]
pub struct SessionStoreUnavailable(pub String);

/// Server-side sessions, shared by every replica, so that logout works everywhere at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Records a session of `subject` that expires by itself after `ttl`.
    async fn create(
        &self,
        session_id: &str,
        subject: &str,
        ttl: Duration,
    ) -> Result<(), SessionStoreUnavailable>;

    /// Whether the session exists (was created, has not expired, was not deleted).
    async fn exists(&self, session_id: &str) -> Result<bool, SessionStoreUnavailable>;

    /// Ends the session; ending an unknown session is not an error.
    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreUnavailable>;

    /// Ends every session of `subject` at once (a disabled user, a changed password, a
    /// compromised account); returns how many live sessions it ended.
    async fn delete_all_of(&self, subject: &str) -> Result<u64, SessionStoreUnavailable>;

    /// Whether the store answers (for readiness probes).
    async fn ping(&self) -> Result<(), SessionStoreUnavailable>;
}
