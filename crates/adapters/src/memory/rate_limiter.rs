//! [`RateLimiter`] in the server's memory, with the `governor` crate (GCRA, like the Redis
//! adapter): the default of the embedded single-process setup, and the fallback of a replica
//! whose Redis is down. Budgets are per process: N replicas on it allow N times the policy.
//!
//! One governor keyed limiter per policy shape (emission interval and burst), made on first
//! use, since a governor limiter has one quota; keys carry the policy name, so policies of the
//! same shape stay apart.
//!
//! Memory: keys whose bucket is full again are indistinguishable from unused ones and are
//! dropped every [`PRUNE_INTERVAL`] (on the next call after it), so memory follows the clients
//! of the last few windows, not every client ever seen.
//!
//! Precision: governor tells how many requests remain but not the exact backlog; for allowed
//! requests the backlog is taken as the whole intervals used (an upper bound, off by less than
//! one interval), refusals are exact.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use application::ports::{LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};

/// How often keys of full buckets are dropped.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(10);

type KeyedLimiter =
    Governor<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// What makes two policies need separate governor limiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    emission_interval: Duration,
    burst: u32,
}

/// Rate limits in this process's memory; cheap to share as `Arc<dyn RateLimiter>`.
pub struct InMemoryRateLimiter {
    limiters: RwLock<HashMap<Shape, Arc<KeyedLimiter>>>,
    started: Instant,
    /// Milliseconds from `started` to the last prune: an atomic, as every request reads it.
    last_prune_ms: AtomicU64,
}

impl InMemoryRateLimiter {
    pub fn new() -> Self {
        Self {
            limiters: RwLock::new(HashMap::new()),
            started: Instant::now(),
            last_prune_ms: AtomicU64::new(0),
        }
    }

    /// The number of keys held, over every policy (full buckets not yet pruned included).
    pub fn len(&self) -> usize {
        self.read().values().map(|limiter| limiter.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the keys whose bucket is full again.
    pub fn prune(&self) {
        for limiter in self.read().values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn limiter(&self, policy: &RatePolicy) -> Arc<KeyedLimiter> {
        let shape = Shape {
            emission_interval: policy.emission_interval(),
            burst: policy.burst(),
        };
        if let Some(limiter) = self.read().get(&shape) {
            return limiter.clone();
        }
        let mut limiters = self
            .limiters
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry(shape)
            .or_insert_with(|| Arc::new(Governor::keyed(quota(shape)).with_middleware()))
            .clone()
    }

    fn prune_if_due(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(PRUNE_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        // Only the request that moves the mark prunes; the others go on at once.
        if now.saturating_sub(last) >= interval
            && self
                .last_prune_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.prune();
        }
    }

    /// The map of limiters, also after a panic elsewhere: entries are only ever added whole.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Shape, Arc<KeyedLimiter>>> {
        self.limiters.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// Never shows keys: they hold client addresses and usernames.
impl fmt::Debug for InMemoryRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryRateLimiter")
            .field("policies", &self.read().len())
            .field("keys", &self.len())
            .finish()
    }
}

fn quota(shape: Shape) -> Quota {
    let burst = NonZeroU32::new(shape.burst).unwrap_or(NonZeroU32::MIN);
    // A policy's interval is never zero; the fallback only keeps the compiler from panicking.
    Quota::with_period(shape.emission_interval)
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn check(
        &self,
        key: &str,
        policy: &RatePolicy,
    ) -> Result<RateDecision, LimiterUnavailable> {
        self.prune_if_due();
        let limiter = self.limiter(policy);
        let decision = match limiter.check_key(&key.to_owned()) {
            Ok(state) => {
                let used = policy.burst() - state.remaining_burst_capacity().min(policy.burst());
                policy.decision(true, policy.emission_interval().saturating_mul(used))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                let others = policy
                    .emission_interval()
                    .saturating_mul(policy.burst() - 1);
                policy.decision(false, others + wait)
            }
        };
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &'static str, rate: u32, burst: u32) -> RatePolicy {
        RatePolicy::new(name, rate, Duration::from_secs(1), burst).unwrap()
    }

    #[tokio::test]
    async fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = InMemoryRateLimiter::new();
        let p = policy("p", 2, 3);
        for remaining in [2, 1, 0] {
            let d = limiter.check("k", &p).await.unwrap();
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = limiter.check("k", &p).await.unwrap();
        assert!(!refused.allowed);
        let wait = refused.retry_after().unwrap();
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(refused.reset_after > Duration::from_millis(1400));
    }

    #[tokio::test]
    async fn keys_and_policies_of_one_shape_are_independent() {
        let limiter = InMemoryRateLimiter::new();
        let (a, b) = (policy("a", 1, 1), policy("b", 1, 1));
        assert!(limiter.check("a:k", &a).await.unwrap().allowed);
        assert!(!limiter.check("a:k", &a).await.unwrap().allowed);
        assert!(limiter.check("a:other", &a).await.unwrap().allowed);
        assert!(limiter.check("b:k", &b).await.unwrap().allowed);
        // Same key string, another shape: another limiter.
        assert!(
            limiter
                .check("a:k", &policy("a", 5, 5))
                .await
                .unwrap()
                .allowed
        );
    }

    #[tokio::test]
    async fn full_buckets_are_pruned() {
        let limiter = InMemoryRateLimiter::new();
        let p = RatePolicy::new("p", 1, Duration::from_millis(20), 1).unwrap();
        for n in 0..50 {
            limiter.check(&format!("p:{n}"), &p).await.unwrap();
        }
        assert_eq!(limiter.len(), 50);
        tokio::time::sleep(Duration::from_millis(60)).await;
        limiter.prune();
        assert!(limiter.is_empty(), "{limiter:?}");
    }
}
