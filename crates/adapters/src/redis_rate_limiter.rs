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
//! Availability: one lazily opened, multiplexed connection that reconnects by itself, every
//! call bounded by [`RedisSettings::timeout`], so calls work again once Redis is back. Failures are not logged here (that would be once per request during an outage):
//! the caller, usually [`FallbackRateLimiter`](crate::fallback_rate_limiter::FallbackRateLimiter),
//! decides.

use std::fmt;
use std::time::Duration;

use application::ports::{LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::redis_sessions::{RedisSettings, redact_url};

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
    /// One multiplexed connection shared by every request (pipelined under load), reconnected
    /// by itself after a failure. Not a pool: a pooled connection is pinged each time it is
    /// taken, which doubled the round trips of every rate-limited request.
    connection: ConnectionManager,
    script: Script,
    redacted_url: String,
    timeout: Duration,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("url", &self.redacted_url)
            .field("timeout", &self.timeout)
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
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|err| LimiterUnavailable(format!("invalid Redis URL: {err}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            // Reconnection is tried again by the next call; meanwhile the fallback decides.
            .set_number_of_retries(1)
            .set_max_delay(settings.timeout);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|err| LimiterUnavailable(format!("cannot set up Redis: {err}")))?;
        Ok(Self {
            connection,
            script: Script::new(GCRA_SCRIPT),
            redacted_url: redact_url(&settings.url),
            timeout: settings.timeout,
        })
    }

    async fn run(&self, key: &str, policy: &RatePolicy) -> Result<(i64, i64), String> {
        let mut connection = self.connection.clone();
        let interval_micros = u64::try_from(policy.emission_interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut invocation = self.script.key(format!("{RATE_LIMIT_KEY_PREFIX}{key}"));
        invocation.arg(interval_micros).arg(policy.burst());
        match invocation.invoke_async::<(i64, i64)>(&mut connection).await {
            // A connection that died with an earlier Redis (restarted since) fails its first
            // call; the manager has reconnected by the second. At worst the lost call had
            // counted: one request too many is charged, never one too few.
            Err(err) if err.is_unrecoverable_error() => invocation
                .invoke_async::<(i64, i64)>(&mut connection)
                .await
                .map_err(|err| err.to_string()),
            answer => answer.map_err(|err| err.to_string()),
        }
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
