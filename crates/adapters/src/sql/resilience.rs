//! Bounded retries of whole transactions on lock conflicts, and a deadline on every database
//! operation, so that a dead or stuck database answers quickly instead of hanging a request.

use std::future::Future;
use std::time::Duration;

use application::ports::{InsertError, StoreError};

/// How a store bounds and retries its database work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlResilience {
    /// The longest one store operation may take, retries included; beyond it the operation is
    /// abandoned (a transaction in flight is rolled back when dropped) and reported unavailable.
    pub operation_timeout: Duration,
    /// Attempts of a write transaction (the first one included) on deadlock, lock wait timeout,
    /// Galera certification failure or SQLite busy/locked.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one, capped by `max_backoff`,
    /// and drawn uniformly from `[0, backoff]` ("full jitter") so that colliding writers spread.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for SqlResilience {
    fn default() -> Self {
        Self {
            operation_timeout: Duration::from_secs(10),
            max_attempts: 5,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(500),
        }
    }
}

impl SqlResilience {
    /// The jittered delay before attempt `attempt + 1` (`attempt` >= 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_backoff);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// Runs `operation` under the deadline.
    pub async fn bounded<T, E, Fut>(&self, what: &'static str, operation: Fut) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: From<StoreError>,
    {
        match tokio::time::timeout(self.operation_timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(what, self.operation_timeout).into()),
        }
    }

    /// Runs the transaction `attempt` until it succeeds, fails with anything but a lock
    /// conflict, or runs out of attempts or time. Each attempt is a fresh transaction: the
    /// failed one was rolled back by the server (or is, when dropped).
    pub async fn retry_transaction<T, E, F, Fut>(
        &self,
        what: &'static str,
        mut attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable + From<StoreError>,
    {
        let attempts = self.max_attempts.max(1);
        self.bounded(what, async {
            let mut tried = 1;
            loop {
                match attempt().await {
                    Err(err) if err.is_retryable() && tried < attempts => {
                        let delay = self.backoff(tried);
                        tracing::debug!(what, attempt = tried, ?delay, "transaction conflict; retrying");
                        metrics::counter!("order_manager_db_transaction_retries_total", "operation" => what)
                            .increment(1);
                        tokio::time::sleep(delay).await;
                        tried += 1;
                    }
                    result => return result,
                }
            }
        })
        .await
    }
}

fn timed_out(what: &'static str, after: Duration) -> StoreError {
    tracing::warn!(what, ?after, "database operation timed out");
    metrics::counter!("order_manager_db_errors_total", "kind" => "timeout").increment(1);
    StoreError::Unavailable(format!(
        "{what}: no answer from the database within {after:?}"
    ))
}

/// Errors that mean "the transaction lost a lock conflict; run it again".
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Contention(_))
    }
}

impl Retryable for InsertError {
    fn is_retryable(&self) -> bool {
        matches!(self, InsertError::Store(StoreError::Contention(_)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast() -> SqlResilience {
        SqlResilience {
            operation_timeout: Duration::from_secs(5),
            max_attempts: 4,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[tokio::test]
    async fn retries_contention_until_success() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, StoreError> = fast()
            .retry_transaction("test", || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 3 {
                    Err(StoreError::Contention("deadlock".into()))
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(result.ok(), Some(3));
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let calls = AtomicU32::new(0);
        let result: Result<(), StoreError> = fast()
            .retry_transaction("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Contention("deadlock".into()))
            })
            .await;
        assert!(matches!(result, Err(StoreError::Contention(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn never_retries_other_errors() {
        for error in [
            InsertError::AlreadyStored,
            InsertError::Store(StoreError::Internal("syntax".into())),
            InsertError::Store(StoreError::Unavailable("refused".into())),
        ] {
            let calls = AtomicU32::new(0);
            let result: Result<(), InsertError> = fast()
                .retry_transaction("test", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(error.clone())
                })
                .await;
            assert!(result.is_err());
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn a_stuck_operation_times_out_as_unavailable() {
        let quick = SqlResilience {
            operation_timeout: Duration::from_millis(20),
            ..fast()
        };
        let result: Result<(), StoreError> = quick
            .bounded("test", std::future::pending::<Result<(), StoreError>>())
            .await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn backoff_is_bounded() {
        let policy = fast();
        for attempt in 1..40 {
            assert!(policy.backoff(attempt) <= policy.max_backoff);
        }
    }
}
