//! Which rate limiter serves the API: Redis (one budget for every replica) with this process's
//! memory as the fallback while Redis fails, or memory alone without `REDIS_URL`.

use std::sync::Arc;

use adapters::fallback_rate_limiter::{FallbackIntervals, FallbackRateLimiter};
use adapters::memory::InMemoryRateLimiter;
use adapters::redis::{RedisRateLimiter, RedisSettings};
use anyhow::Context;
use application::ports::RateLimiter;
use application::use_cases::{RateLimits, ThrottleRequests};
use http_api::RateLimitApi;

use crate::cli::RateLimitArgs;

/// The rate limiting of the API, and the Redis fallback (to report how often it decides).
#[derive(Debug)]
pub struct RateLimiting {
    pub api: RateLimitApi,
    /// `None` without Redis. Its `fallback_count()` is for the metrics.
    pub fallback: Option<Arc<FallbackRateLimiter>>,
}

pub fn rate_limiting(
    args: &RateLimitArgs,
    redis: Option<&RedisSettings>,
) -> anyhow::Result<RateLimiting> {
    let limits = RateLimits::new(
        args.rate_limit_rps,
        args.rate_limit_burst,
        args.login_rate_per_minute_ip,
        args.login_rate_per_minute_user,
        args.login_rate_per_minute_user_all,
    )
    .context("invalid rate limits")?;
    let local = Arc::new(InMemoryRateLimiter::new());
    let (limiter, fallback): (Arc<dyn RateLimiter>, _) = match redis {
        Some(settings) => {
            let shared = RedisRateLimiter::connect(settings).context("invalid Redis settings")?;
            let fallback = Arc::new(FallbackRateLimiter::new(
                Arc::new(shared),
                local,
                FallbackIntervals::default(),
            ));
            tracing::info!("rate limits are kept in Redis (in memory while it is unreachable)");
            (fallback.clone(), Some(fallback))
        }
        None => {
            tracing::info!("rate limits are kept in memory (set REDIS_URL to share them)");
            (local, None)
        }
    };
    if args.trusted_proxies.is_empty() {
        tracing::info!("no trusted proxies: X-Forwarded-For is ignored");
    } else {
        tracing::info!(trusted_proxies = %args.trusted_proxies, "X-Forwarded-For is believed from these proxies");
    }
    Ok(RateLimiting {
        api: RateLimitApi {
            throttle: ThrottleRequests::new(limiter, limits),
            trusted_proxies: args.trusted_proxies.clone(),
        },
        fallback,
    })
}
