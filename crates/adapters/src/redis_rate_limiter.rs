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
//! Availability is as for the session store: lazy connections, every call bounded by
//! [`RedisSettings::timeout`], broken connections dropped so that calls work again once Redis
//! is back. Failures are not logged here (that would be once per request during an outage):
//! the caller, usually [`FallbackRateLimiter`](crate::fallback_rate_limiter::FallbackRateLimiter),
//! decides.

use std::fmt;
use std::time::Duration;

use application::ports::{LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
use async_trait::async_trait;
use deadpool_redis::redis::Script;
use deadpool_redis::{Connection, Pool};

use crate::redis_sessions::{RedisSettings, build_pool, is_connection_broken, redact_url};

/// The prefix of every rate limit key.
pub const RATE_LIMIT_KEY_PREFIX: &str = "om:rl:";

/// GCRA, as `governor` does it: a request is allowed when the TAT, advanced by one emission
/// interval, lies at most `burst` intervals ahead of now; an allowed request stores the advanced
/// TAT, a refused one changes nothing. KEYS[1]: the key; ARGV[1]: the emission interval in
/// microseconds; ARGV[2]: the burst. Answers `{allowed (1 or 0), backlog in microseconds}`,
/// the backlog being how far the TAT lies ahead of now after the decision.
pub const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval
if new_tat - burst * interval > now then
  return {0, tat - now}
end
local backlog = new_tat - now
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(backlog / 1000))
return {1, backlog}
";

/// Rate limits in Redis, through a deadpool connection pool.
pub struct RedisRateLimiter {
    pool: Pool,
    script: Script,
    /// The URL without its password, for Debug.
    redacted_url: String,
    timeout: Duration,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("url", &self.redacted_url)
            .field("pool_size", &self.pool.status().max_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisRateLimiter {
    /// Builds the pool without connecting: Redis may be down now and come up later.
    ///
    /// Fails only on settings that can never work; the message never includes the URL.
    pub fn connect(settings: &RedisSettings) -> Result<Self, LimiterUnavailable> {
        if settings.pool_size == 0 {
            return Err(LimiterUnavailable(
                "the Redis pool size must be at least 1".to_owned(),
            ));
        }
        if settings.timeout.is_zero() {
            return Err(LimiterUnavailable(
                "the Redis timeout must be more than zero".to_owned(),
            ));
        }
        Ok(Self {
            pool: build_pool(settings).map_err(LimiterUnavailable)?,
            script: Script::new(GCRA_SCRIPT),
            redacted_url: redact_url(&settings.url),
            timeout: settings.timeout,
        })
    }

    async fn run(&self, key: &str, policy: &RatePolicy) -> Result<(i64, i64), String> {
        let mut connection = self
            .pool
            .get()
            .await
            .map_err(|err| format!("no connection: {err}"))?;
        let interval_micros = u64::try_from(policy.emission_interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let result = self
            .script
            .key(format!("{RATE_LIMIT_KEY_PREFIX}{key}"))
            .arg(interval_micros)
            .arg(policy.burst())
            .invoke_async::<(i64, i64)>(&mut connection)
            .await;
        result.map_err(|err| {
            if is_connection_broken(&err) {
                // Not back into the pool: the next call gets a fresh connection.
                drop(Connection::take(connection));
            }
            err.to_string()
        })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(
        &self,
        key: &str,
        policy: &RatePolicy,
    ) -> Result<RateDecision, LimiterUnavailable> {
        let (allowed, backlog_micros) = tokio::time::timeout(self.timeout, self.run(key, policy))
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))
            .and_then(|answer| answer)
            .map_err(|err| {
                tracing::debug!(error = %err, "Redis rate limiter call failed");
                LimiterUnavailable(format!("Redis rate limiter call failed: {err}"))
            })?;
        let backlog = Duration::from_micros(u64::try_from(backlog_micros).unwrap_or(0));
        Ok(policy.decision(allowed == 1, backlog))
    }
}
