use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

/// A rate policy in GCRA terms (the generic cell rate algorithm, as in the `governor` crate):
/// on average `rate` requests per `period`, of which up to `burst` may come at once.
///
/// Equivalently: a bucket of `burst` requests that refills by one every
/// [`emission_interval`](Self::emission_interval) (`period / rate`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RatePolicy {
    name: &'static str,
    emission_interval: Duration,
    burst: u32,
}

/// A policy that can never work (a rate, period or burst of zero).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid rate policy `{name}`: {reason}")]
pub struct InvalidPolicy {
    pub name: &'static str,
    pub reason: &'static str,
}

/// The shortest emission interval: Redis keeps times in microseconds.
const MIN_EMISSION_INTERVAL: Duration = Duration::from_micros(1);

impl RatePolicy {
    /// `rate` requests per `period`, up to `burst` at once. `name` identifies the policy in
    /// response headers and in the limiter's keys: a short token (`[a-z0-9-]`).
    pub fn new(
        name: &'static str,
        rate: u32,
        period: Duration,
        burst: u32,
    ) -> Result<Self, InvalidPolicy> {
        let invalid = |reason| InvalidPolicy { name, reason };
        if rate == 0 {
            return Err(invalid("the rate must be at least 1"));
        }
        if period.is_zero() {
            return Err(invalid("the period must be more than zero"));
        }
        if burst == 0 {
            return Err(invalid("the burst must be at least 1"));
        }
        Ok(Self {
            name,
            emission_interval: (period / rate).max(MIN_EMISSION_INTERVAL),
            burst,
        })
    }

    /// The name, as in `RateLimit-Policy: "<name>";q=...`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How often one more request becomes available (`period / rate`).
    pub fn emission_interval(&self) -> Duration {
        self.emission_interval
    }

    /// How many requests may come at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The time an empty bucket takes to fill up: the window within which `burst` requests
    /// are the quota (`w` of `RateLimit-Policy`).
    pub fn window(&self) -> Duration {
        self.emission_interval.saturating_mul(self.burst)
    }

    /// The decision implied by a GCRA state, shared by every adapter so that they all answer
    /// alike: `allowed`, and `backlog`, how far the theoretical arrival time (TAT) lies ahead of
    /// now after the decision (zero for an unused key, at most [`window`](Self::window)).
    pub fn decision(&self, allowed: bool, backlog: Duration) -> RateDecision {
        let t = self.emission_interval.as_nanos().max(1);
        let backlog = backlog.min(self.window());
        let backlog_ns = backlog.as_nanos();
        // Whole requests that fit between the backlog and a full bucket.
        let free =
            (self.window().as_nanos().saturating_sub(backlog_ns) / t).min(u128::from(self.burst));
        let remaining = u32::try_from(free).unwrap_or(self.burst);
        // The next request becomes available when the backlog drops below the point where
        // `remaining + 1` would fit.
        let replenish_after = if remaining >= self.burst {
            Duration::ZERO
        } else {
            let still_used = u128::from(self.burst - remaining - 1) * t;
            nanos(backlog_ns.saturating_sub(still_used))
        };
        RateDecision {
            allowed,
            remaining,
            replenish_after,
            reset_after: backlog,
        }
    }
}

fn nanos(ns: u128) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The outcome of one request against one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed. A refused request consumes nothing.
    pub allowed: bool,
    /// How many more requests would be allowed right now.
    pub remaining: u32,
    /// How long until one more request becomes available: for a refused request, the wait
    /// before retrying (`Retry-After`); zero when the whole burst is available.
    pub replenish_after: Duration,
    /// How long until the whole burst is available again.
    pub reset_after: Duration,
}

impl RateDecision {
    /// For a refused request, how long to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        (!self.allowed).then_some(self.replenish_after)
    }
}

/// The rate limiter cannot decide (its store is unreachable or did not answer in time).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the rate limiter is unavailable: {0}")]
pub struct LimiterUnavailable(pub String);

/// Counts requests against rate policies. Implementations shared by several replicas (Redis)
/// enforce one budget for all of them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `key` against `policy` and decides on it, in one atomic step: two
    /// concurrent calls never both take the last request of a budget. Keys of different
    /// policies are independent even when equal as strings.
    async fn check(
        &self,
        key: &str,
        policy: &RatePolicy,
    ) -> Result<RateDecision, LimiterUnavailable>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rate: u32, period_secs: u64, burst: u32) -> RatePolicy {
        RatePolicy::new("p", rate, Duration::from_secs(period_secs), burst).unwrap()
    }

    #[test]
    fn zero_rates_periods_and_bursts_are_refused() {
        assert!(RatePolicy::new("p", 0, Duration::from_secs(1), 1).is_err());
        assert!(RatePolicy::new("p", 1, Duration::ZERO, 1).is_err());
        assert!(RatePolicy::new("p", 1, Duration::from_secs(1), 0).is_err());
    }

    #[test]
    fn window_is_the_time_to_refill_the_burst() {
        let p = policy(100, 1, 200);
        assert_eq!(p.emission_interval(), Duration::from_millis(10));
        assert_eq!(p.window(), Duration::from_secs(2));
        assert_eq!(policy(10, 60, 10).window(), Duration::from_secs(60));
    }

    #[test]
    fn an_unused_key_has_the_whole_burst() {
        let d = policy(2, 1, 3).decision(true, Duration::ZERO);
        assert_eq!(
            (d.remaining, d.replenish_after, d.reset_after),
            (3, Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn decisions_follow_the_backlog() {
        let p = policy(2, 1, 3); // one every 500 ms, 3 at once
        let first = p.decision(true, Duration::from_millis(500));
        assert_eq!(first.remaining, 2);
        assert_eq!(first.replenish_after, Duration::from_millis(500));
        let partly = p.decision(true, Duration::from_millis(1200));
        assert_eq!(partly.remaining, 0);
        assert_eq!(partly.replenish_after, Duration::from_millis(200));
        let refused = p.decision(false, Duration::from_millis(1400));
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after(), Some(Duration::from_millis(400)));
        assert_eq!(refused.reset_after, Duration::from_millis(1400));
        assert_eq!(first.retry_after(), None);
    }
}
