use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

/// The session store cannot be reached or did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the session store is unavailable: {0}")]
pub struct SessionStoreUnavailable(pub String);

/// The longest session lifetime kept: longer ones are cut to it (ten years; Redis refuses
/// expiry times that overflow, and no session should live that long anyway).
const MAX_SESSION_TTL_SECS: u64 = 10 * 365 * 24 * 60 * 60;

/// How long every [`SessionStore`] keeps a session created with `ttl`, in whole seconds:
/// rounded up, at least 1, at most ten years. A rule of the port rather than of one store, so
/// that a session lives as long in memory as in Redis (whose `EX` takes whole seconds).
pub fn session_ttl_secs(ttl: Duration) -> u64 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    secs.clamp(1, MAX_SESSION_TTL_SECS)
}

/// Server-side sessions, shared by every replica, so that logout works everywhere at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Records a session of `subject` that expires by itself after `ttl`, as
    /// [`session_ttl_secs`] rounds it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_rounded_up_to_whole_seconds_and_at_least_one() {
        assert_eq!(session_ttl_secs(Duration::ZERO), 1);
        assert_eq!(session_ttl_secs(Duration::from_millis(10)), 1);
        assert_eq!(session_ttl_secs(Duration::from_secs(1)), 1);
        assert_eq!(session_ttl_secs(Duration::from_millis(1001)), 2);
        assert_eq!(session_ttl_secs(Duration::from_secs(3600)), 3600);
        assert_eq!(session_ttl_secs(Duration::MAX), MAX_SESSION_TTL_SECS);
    }
}
