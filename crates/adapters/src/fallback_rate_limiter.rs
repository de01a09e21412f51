//! A [`RateLimiter`] that asks a shared limiter (Redis) and, when that fails, decides with a
//! local one (this replica's memory) instead: never "unlimited", never an error while the
//! local one answers.
//!
//! While the shared limiter is down, budgets are per replica (N replicas allow up to N times
//! the policy): looser, but still bounded. Each local decision is counted
//! ([`FallbackRateLimiter::fallback_count`]); a warning is logged at most once per
//! [`FallbackIntervals::warn_every`], so an outage does not flood the logs.
//!
//! After a failure, the shared limiter is left alone for [`FallbackIntervals::retry_after`]
//! (so that a Redis that hangs does not add its timeout to every request), then tried again on
//! the next request; as soon as it answers, it decides again and an info line says so.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use application::ports::{LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
use async_trait::async_trait;

/// How often to warn and how long to leave a failed shared limiter alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackIntervals {
    /// At most one warning per this interval while the shared limiter keeps failing.
    pub warn_every: Duration,
    /// After a failure, local decisions only, for this long.
    pub retry_after: Duration,
}

impl Default for FallbackIntervals {
    fn default() -> Self {
        Self {
            warn_every: Duration::from_secs(30),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Shared limiter first, local limiter when it fails.
pub struct FallbackRateLimiter {
    shared: Arc<dyn RateLimiter>,
    local: Arc<dyn RateLimiter>,
    intervals: FallbackIntervals,
    fallbacks: AtomicU64,
    /// Local decisions since the last warning, for the next one.
    unreported: AtomicU64,
    /// Whether the last call to the shared limiter failed: the only state the usual request
    /// reads, without a lock.
    degraded: AtomicBool,
    state: Mutex<State>,
}

/// What only failures and recoveries touch.
#[derive(Default)]
struct State {
    /// Until when the shared limiter is left alone.
    skip_until: Option<Instant>,
    last_warning: Option<Instant>,
}

impl fmt::Debug for FallbackRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackRateLimiter")
            .field("intervals", &self.intervals)
            .field("fallbacks", &self.fallback_count())
            .finish_non_exhaustive()
    }
}

impl FallbackRateLimiter {
    pub fn new(
        shared: Arc<dyn RateLimiter>,
        local: Arc<dyn RateLimiter>,
        intervals: FallbackIntervals,
    ) -> Self {
        Self {
            shared,
            local,
            intervals,
            fallbacks: AtomicU64::new(0),
            unreported: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    /// How many decisions the local limiter made because the shared one failed, since start.
    pub fn fallback_count(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Whether the shared limiter decides (it answered the last time it was asked).
    pub fn is_shared(&self) -> bool {
        !self.degraded.load(Ordering::Acquire)
    }

    fn should_ask_shared(&self, now: Instant) -> bool {
        self.is_shared() || self.lock().skip_until.is_none_or(|until| now >= until)
    }

    fn shared_answered(&self) {
        if self.is_shared() {
            return;
        }
        let mut state = self.lock();
        // Another request may have seen the recovery first.
        if self.degraded.swap(false, Ordering::AcqRel) {
            state.skip_until = None;
            state.last_warning = None;
            drop(state);
            let local_decisions = self.unreported.swap(0, Ordering::Relaxed);
            tracing::info!(
                local_decisions,
                "the shared rate limiter answers again: budgets are shared by every replica again"
            );
        }
    }

    fn shared_failed(&self, error: &LimiterUnavailable, now: Instant) {
        let mut state = self.lock();
        self.degraded.store(true, Ordering::Release);
        state.skip_until = Some(now + self.intervals.retry_after);
        let due = state
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= self.intervals.warn_every);
        if due {
            state.last_warning = Some(now);
            drop(state);
            let local_decisions = self.unreported.swap(0, Ordering::Relaxed);
            tracing::warn!(
                error = %error,
                local_decisions,
                total_fallbacks = self.fallback_count(),
                "the shared rate limiter failed: this replica decides alone (budgets per replica) \
                 until it answers again"
            );
        }
    }

    /// Locks the state, also after a panic elsewhere: every update leaves it consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl RateLimiter for FallbackRateLimiter {
    async fn check(
        &self,
        key: &str,
        policy: &RatePolicy,
    ) -> Result<RateDecision, LimiterUnavailable> {
        let now = Instant::now();
        if self.should_ask_shared(now) {
            match self.shared.check(key, policy).await {
                Ok(decision) => {
                    self.shared_answered();
                    return Ok(decision);
                }
                Err(error) => self.shared_failed(&error, Instant::now()),
            }
        }
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("order_manager_rate_limiter_fallbacks_total").increment(1);
        self.unreported.fetch_add(1, Ordering::Relaxed);
        self.local.check(key, policy).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    /// A shared limiter that allows everything while up, and fails while down.
    #[derive(Default)]
    struct Switchable {
        down: AtomicBool,
        calls: AtomicU64,
    }

    #[async_trait]
    impl RateLimiter for Switchable {
        async fn check(
            &self,
            _key: &str,
            policy: &RatePolicy,
        ) -> Result<RateDecision, LimiterUnavailable> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                Err(LimiterUnavailable("down".into()))
            } else {
                Ok(policy.decision(true, Duration::ZERO))
            }
        }
    }

    /// A local limiter that allows a policy's burst and refuses after it: bounded, as the real
    /// in-memory one is (the two together are tested in tests/rate_limiters.rs, where using an
    /// adapter of another technology is no import between adapters).
    #[derive(Default)]
    struct Burst {
        used: AtomicU32,
    }

    #[async_trait]
    impl RateLimiter for Burst {
        async fn check(
            &self,
            _key: &str,
            policy: &RatePolicy,
        ) -> Result<RateDecision, LimiterUnavailable> {
            let used = self.used.fetch_add(1, Ordering::SeqCst);
            Ok(policy.decision(used < policy.burst(), Duration::ZERO))
        }
    }

    fn policy() -> RatePolicy {
        RatePolicy::new("p", 1, Duration::from_secs(60), 2).unwrap()
    }

    fn limiter(shared: Arc<Switchable>, retry_after: Duration) -> FallbackRateLimiter {
        FallbackRateLimiter::new(
            shared,
            Arc::new(Burst::default()),
            FallbackIntervals {
                warn_every: Duration::from_secs(30),
                retry_after,
            },
        )
    }

    #[tokio::test]
    async fn the_shared_limiter_decides_while_it_answers() {
        let shared = Arc::new(Switchable::default());
        let limiter = limiter(shared.clone(), Duration::ZERO);
        for _ in 0..5 {
            assert!(limiter.check("k", &policy()).await.unwrap().allowed);
        }
        assert_eq!(limiter.fallback_count(), 0);
        assert!(limiter.is_shared());
    }

    #[tokio::test]
    async fn a_failing_shared_limiter_falls_back_to_a_bounded_local_one_and_recovers() {
        let shared = Arc::new(Switchable::default());
        let limiter = limiter(shared.clone(), Duration::ZERO);
        shared.down.store(true, Ordering::SeqCst);
        let decisions: Vec<bool> = decide_n(&limiter, 3).await;
        assert_eq!(
            decisions,
            [true, true, false],
            "the local policy still applies"
        );
        assert_eq!(limiter.fallback_count(), 3);
        assert!(!limiter.is_shared());

        shared.down.store(false, Ordering::SeqCst);
        assert!(limiter.check("k", &policy()).await.unwrap().allowed);
        assert!(limiter.is_shared());
        assert_eq!(limiter.fallback_count(), 3);
    }

    #[tokio::test]
    async fn after_a_failure_the_shared_limiter_rests_for_the_retry_interval() {
        let shared = Arc::new(Switchable::default());
        let limiter = limiter(shared.clone(), Duration::from_millis(200));
        shared.down.store(true, Ordering::SeqCst);
        limiter.check("k", &policy()).await.unwrap();
        shared.down.store(false, Ordering::SeqCst);
        limiter.check("k", &policy()).await.unwrap();
        assert_eq!(
            shared.calls.load(Ordering::SeqCst),
            1,
            "not asked while resting"
        );
        assert_eq!(limiter.fallback_count(), 2);

        tokio::time::sleep(Duration::from_millis(250)).await;
        limiter.check("k", &policy()).await.unwrap();
        assert_eq!(shared.calls.load(Ordering::SeqCst), 2);
        assert_eq!(limiter.fallback_count(), 2);
        assert!(limiter.is_shared());
    }

    async fn decide_n(limiter: &FallbackRateLimiter, n: usize) -> Vec<bool> {
        let mut allowed = Vec::with_capacity(n);
        for _ in 0..n {
            allowed.push(limiter.check("k", &policy()).await.unwrap().allowed);
        }
        allowed
    }
}
