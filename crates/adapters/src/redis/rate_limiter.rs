//! [`RateLimiter`] on Redis: every replica draws on the same budgets.
//!
//! Layout: one key `om:rl:<key>` per limited key, holding its GCRA theoretical arrival time
//! (TAT) in microseconds of Redis's clock, expiring when the bucket would be full again (so
//! idle clients cost no memory).
//!
//! One decision is one `EVALSHA` of [`GCRA_SCRIPT`] (`EVAL` once per connection when Redis
//! does not know the script yet, e.g. after a restart): read, decide and write run atomically
//! inside Redis, so concurrent requests on any replicas never both take the last request of a
//! budget, and the time is Redis's own, so replicas' clocks need not agree.
//!
//! Concurrent checks of one key are coalesced: while a call for a key is in flight, further
//! checks of that key wait, and the next call decides for all of them at once, exactly as if
//! they had arrived one after the other at that instant (the first ones that fit are allowed).
//! A busy client (one IP behind many connections) then costs one round trip per wave of
//! requests instead of one per request; a check that finds no call in flight goes at once.
//!
//! Availability: one lazily opened, multiplexed connection that reconnects by itself, every
//! call bounded by [`RedisSettings::timeout`], so calls work again once Redis is back. Failures are not logged here (that would be once per request during an outage):
//! the caller, usually [`FallbackRateLimiter`](crate::fallback_rate_limiter::FallbackRateLimiter),
//! decides.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use application::ports::{LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::oneshot;

use super::connection::{RedisSettings, open_client, redact_url};

pub const RATE_LIMIT_KEY_PREFIX: &str = "om:rl:";

/// GCRA, as `governor` does it, for `n` requests arriving at once: request `i` (from 1) is
/// allowed when the TAT, advanced by `i` emission intervals, lies at most `burst` intervals
/// ahead of now; allowed requests store the advanced TAT, refused ones change nothing.
/// KEYS[1]: the key; ARGV[1]: the emission interval in microseconds; ARGV[2]: the burst;
/// ARGV[3]: `n` (1 when absent). Answers `{allowed, backlog}`: how many of the `n` are allowed
/// (the first ones), and how far the TAT lay ahead of now before them, in microseconds.
pub const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3] or '1')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then
  tat = now
end
local fit = math.floor((now + burst * interval - tat) / interval)
local allowed = math.max(0, math.min(n, fit))
if allowed > 0 then
  local new_tat = tat + allowed * interval
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
end
return {allowed, tat - now}
";

/// Checks of one key waiting for the call in flight to end; the next call decides for them.
type Waiters = Vec<oneshot::Sender<Result<RateDecision, LimiterUnavailable>>>;

/// Rate limits in Redis, one budget for every replica.
pub struct RedisRateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    /// One multiplexed connection shared by every request (pipelined under load), reconnected
    /// by itself after a failure. Not a pool: a pooled connection is pinged each time it is
    /// taken, which doubled the round trips of every rate-limited request.
    connection: ConnectionManager,
    script: Script,
    redacted_url: String,
    timeout: Duration,
    /// Keys with a call in flight, and the checks queued behind it.
    in_flight: Mutex<HashMap<String, Waiters>>,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("url", &self.shared.redacted_url)
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Connects lazily (the first check opens the connection); must run inside a Tokio runtime.
    pub fn connect(settings: &RedisSettings) -> Result<Self, LimiterUnavailable> {
        if settings.timeout.is_zero() {
            return Err(LimiterUnavailable(
                "the Redis timeout must be more than zero".to_owned(),
            ));
        }
        // The connection's driver task is spawned on the current runtime (a panic without one).
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(LimiterUnavailable(
                "the Redis rate limiter needs a Tokio runtime".to_owned(),
            ));
        }
        let client = open_client(&settings.url).map_err(LimiterUnavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            // Reconnection is tried again by the next call; meanwhile the fallback decides.
            .set_number_of_retries(1)
            .set_max_delay(settings.timeout);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|err| LimiterUnavailable(format!("cannot set up Redis: {err}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                connection,
                script: Script::new(GCRA_SCRIPT),
                redacted_url: redact_url(&settings.url),
                timeout: settings.timeout,
                in_flight: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl Shared {
    fn in_flight(&self) -> MutexGuard<'_, HashMap<String, Waiters>> {
        // The map stays consistent whatever panicked while holding it: every change is one call.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides for `waiters` (in arrival order), then for whatever queued meanwhile, until no
    /// check of `key` is left waiting.
    async fn decide_all(self: Arc<Self>, key: String, policy: RatePolicy, mut waiters: Waiters) {
        // Should this task end early (its runtime shuts down), the key must not stay marked in
        // flight: later checks would queue behind a call that never comes.
        let mut unmark = UnmarkOnEarlyEnd {
            shared: &self,
            key: &key,
            armed: true,
        };
        loop {
            // A check whose request went away is neither decided nor charged.
            waiters.retain(|waiter| !waiter.is_closed());
            if !waiters.is_empty() {
                self.answer(&key, &policy, waiters).await;
            }
            let mut in_flight = self.in_flight();
            waiters = in_flight
                .get_mut(&key)
                .map(std::mem::take)
                .unwrap_or_default();
            if waiters.is_empty() {
                in_flight.remove(&key);
                // Unmarked here, under the lock: once released, a new check may mark the key
                // again for a task of its own, which the guard must then leave alone.
                unmark.armed = false;
                return;
            }
        }
    }

    /// One call decides for every waiter, as if they had come one after the other.
    async fn answer(&self, key: &str, policy: &RatePolicy, waiters: Waiters) {
        let count = u32::try_from(waiters.len()).unwrap_or(u32::MAX);
        match self.decide(key, policy, count).await {
            Ok((allowed, backlog_micros)) => {
                let interval = interval_micros(policy);
                let base = u64::try_from(backlog_micros).unwrap_or(0);
                let allowed = usize::try_from(allowed).unwrap_or(0);
                for (index, waiter) in waiters.into_iter().enumerate() {
                    // An allowed request's backlog includes itself; a refused one sees the
                    // backlog the allowed ones left.
                    let steps = (index + 1).min(allowed) as u64;
                    let backlog = base.saturating_add(steps.saturating_mul(interval));
                    let decision = policy.decision(index < allowed, Duration::from_micros(backlog));
                    // A check whose request went away no longer listens.
                    let _ = waiter.send(Ok(decision));
                }
            }
            Err(err) => {
                for waiter in waiters {
                    let _ = waiter.send(Err(err.clone()));
                }
            }
        }
    }

    /// One call for `count` requests: `(allowed, backlog before them in microseconds)`.
    async fn decide(
        &self,
        key: &str,
        policy: &RatePolicy,
        count: u32,
    ) -> Result<(i64, i64), LimiterUnavailable> {
        tokio::time::timeout(self.timeout, self.run(key, policy, count))
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))
            .and_then(|answer| answer)
            .map_err(|err| {
                tracing::debug!(error = %err, "Redis rate limiter call failed");
                LimiterUnavailable(format!("Redis rate limiter call failed: {err}"))
            })
    }

    async fn run(&self, key: &str, policy: &RatePolicy, count: u32) -> Result<(i64, i64), String> {
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(format!("{RATE_LIMIT_KEY_PREFIX}{key}"));
        invocation
            .arg(interval_micros(policy))
            .arg(policy.burst())
            .arg(count);
        match invocation.invoke_async::<(i64, i64)>(&mut connection).await {
            // A connection that died with an earlier Redis (restarted since) fails its first
            // call; the manager has reconnected by the second. At worst the lost call had
            // counted: its requests are charged twice, never too few.
            Err(err) if err.is_unrecoverable_error() => invocation
                .invoke_async::<(i64, i64)>(&mut connection)
                .await
                .map_err(|err| err.to_string()),
            answer => answer.map_err(|err| err.to_string()),
        }
    }
}

/// Unmarks a key when the task deciding for it ends before it has served every check (it was
/// dropped, or panicked); the checks still queued are dropped with it and answer "unavailable",
/// and the fallback decides.
struct UnmarkOnEarlyEnd<'a> {
    shared: &'a Shared,
    key: &'a str,
    armed: bool,
}

impl Drop for UnmarkOnEarlyEnd<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.in_flight().remove(self.key);
        }
    }
}

/// The policy's emission interval in whole microseconds (at least one), as the script takes it.
fn interval_micros(policy: &RatePolicy) -> u64 {
    u64::try_from(policy.emission_interval().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(
        &self,
        key: &str,
        policy: &RatePolicy,
    ) -> Result<RateDecision, LimiterUnavailable> {
        let key = key.to_owned();
        let (waiter, decision) = oneshot::channel();
        {
            let mut in_flight = self.shared.in_flight();
            match in_flight.get_mut(&key) {
                Some(queued) => queued.push(waiter),
                None => {
                    in_flight.insert(key.clone(), Vec::new());
                    // On a task of its own: the queue behind this call must be served even if
                    // this request goes away meanwhile.
                    let shared = Arc::clone(&self.shared);
                    tokio::spawn(shared.decide_all(key, policy.clone(), vec![waiter]));
                }
            }
        }
        // One deadline from arrival, queueing included: the Redis timeout is what a check may
        // take before the caller falls back.
        match tokio::time::timeout(self.shared.timeout, decision).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(LimiterUnavailable(
                "the Redis rate limiter call was abandoned".to_owned(),
            )),
            Err(_) => Err(LimiterUnavailable(format!(
                "no decision within {:?}",
                self.shared.timeout
            ))),
        }
    }
}
