use std::sync::Arc;
use std::time::Duration;

use crate::ports::{OrderStore, SessionStore};

/// A dependency the service cannot work without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Redis,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Redis => "redis",
        }
    }
}

/// What a readiness check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Every dependency checked, with whether it answered in time.
    pub checked: Vec<(Dependency, bool)>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.checked.iter().all(|(_, up)| *up)
    }

    pub fn down(&self) -> Vec<Dependency> {
        self.checked
            .iter()
            .filter(|(_, up)| !up)
            .map(|(d, _)| *d)
            .collect()
    }
}

/// How long a readiness result is reused: a flood of probes (or a probe per second from each
/// of many kubelets) costs at most one database and one Redis ping per replica per second.
pub const READINESS_MAX_AGE: Duration = Duration::from_secs(1);

/// Use case: do the dependencies answer within `timeout`? Checked concurrently, so the probe
/// never takes longer than one timeout; the result is reused for [`READINESS_MAX_AGE`], and
/// concurrent callers wait for the one check in flight instead of starting their own.
#[derive(Clone)]
pub struct CheckReadiness {
    store: Arc<dyn OrderStore>,
    sessions: Option<Arc<dyn SessionStore>>,
    timeout: Duration,
    max_age: Duration,
    last: Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, Readiness)>>>,
}

impl std::fmt::Debug for CheckReadiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckReadiness")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CheckReadiness {
    /// `sessions` only when they live in a shared store (Redis); in-memory sessions cannot fail.
    pub fn new(
        store: Arc<dyn OrderStore>,
        sessions: Option<Arc<dyn SessionStore>>,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            sessions,
            timeout,
            max_age: READINESS_MAX_AGE,
            last: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// Reuses a result for `max_age` instead of [`READINESS_MAX_AGE`] (zero: check every time).
    pub fn cached_for(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    pub async fn execute(&self) -> Readiness {
        let mut last = self.last.lock().await;
        if let Some((at, readiness)) = last.as_ref()
            && at.elapsed() < self.max_age
        {
            return readiness.clone();
        }
        let readiness = self.check().await;
        *last = Some((tokio::time::Instant::now(), readiness.clone()));
        readiness
    }

    async fn check(&self) -> Readiness {
        let database = async {
            matches!(
                tokio::time::timeout(self.timeout, self.store.ping()).await,
                Ok(Ok(()))
            )
        };
        let redis = async {
            match &self.sessions {
                None => None,
                Some(sessions) => Some(matches!(
                    tokio::time::timeout(self.timeout, sessions.ping()).await,
                    Ok(Ok(()))
                )),
            }
        };
        let (database, redis) = tokio::join!(database, redis);
        let mut checked = vec![(Dependency::Database, database)];
        if let Some(redis) = redis {
            checked.push((Dependency::Redis, redis));
        }
        Readiness { checked }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockOrderStore, MockSessionStore, SessionStoreUnavailable, StoreError};

    #[tokio::test]
    async fn names_every_dependency_that_is_down() {
        let mut store = MockOrderStore::new();
        store.expect_ping().returning(|| Ok(()));
        let mut sessions = MockSessionStore::new();
        sessions
            .expect_ping()
            .returning(|| Err(SessionStoreUnavailable("refused".into())));
        let check = CheckReadiness::new(
            Arc::new(store),
            Some(Arc::new(sessions)),
            Duration::from_millis(100),
        );
        let readiness = check.execute().await;
        assert!(!readiness.is_ready());
        assert_eq!(readiness.down(), vec![Dependency::Redis]);
    }

    #[tokio::test]
    async fn a_flood_of_probes_costs_one_ping_per_max_age() {
        let mut store = MockOrderStore::new();
        store.expect_ping().times(1).returning(|| Ok(()));
        let mut sessions = MockSessionStore::new();
        sessions.expect_ping().times(1).returning(|| Ok(()));
        let check = CheckReadiness::new(
            Arc::new(store),
            Some(Arc::new(sessions)),
            Duration::from_millis(100),
        )
        .cached_for(Duration::from_secs(3600));
        // Concurrent probes: one check, the others wait for it.
        let mut probes = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let check = check.clone();
            probes.spawn(async move { check.execute().await });
        }
        while let Some(readiness) = probes.join_next().await {
            assert!(readiness.unwrap().is_ready());
        }

        let mut store = MockOrderStore::new();
        store.expect_ping().times(3).returning(|| Ok(()));
        let uncached = CheckReadiness::new(Arc::new(store), None, Duration::from_millis(100))
            .cached_for(Duration::ZERO);
        for _ in 0..3 {
            uncached.execute().await;
        }
    }

    #[tokio::test]
    async fn without_shared_sessions_only_the_database_counts() {
        let mut store = MockOrderStore::new();
        store
            .expect_ping()
            .returning(|| Err(StoreError::Unavailable("down".into())));
        let readiness = CheckReadiness::new(Arc::new(store), None, Duration::from_millis(100))
            .execute()
            .await;
        assert_eq!(readiness.checked, vec![(Dependency::Database, false)]);
    }
}
