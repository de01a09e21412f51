//! The rate limiter contract, run against the in-memory limiter and the Redis limiter (on the
//! private Redis whose URL `cargo xtask ci` passes in `ORDER_MANAGER_TEST_REDIS_URL`), then
//! what only Redis has: one budget for several replicas, the key layout, surviving a script
//! cache flush; and the fallback to memory while Redis is down, and back once it answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::fallback_rate_limiter::{FallbackIntervals, FallbackRateLimiter};
use adapters::memory::InMemoryRateLimiter;
use adapters::redis::{RATE_LIMIT_KEY_PREFIX, RedisRateLimiter, RedisSettings};
use application::ports::{RateLimiter, RatePolicy};
use futures_util::future::join_all;
use testkit::ports::free_port_or_panic as free_port;
use testkit::redis::Redis;

use testkit::stores::redis_url;

fn redis_limiter_at(url: &str, timeout: Duration) -> RedisRateLimiter {
    RedisRateLimiter::connect(&RedisSettings {
        url: url.to_owned(),
        pool_size: 8,
        timeout,
    })
    .expect("connect needs no Redis: the connection opens lazily")
}

fn redis_limiter() -> RedisRateLimiter {
    redis_limiter_at(&redis_url(), Duration::from_secs(5))
}

/// A key no other test (or earlier run on the same Redis) uses.
fn new_key() -> String {
    format!("test:{}", uuid::Uuid::new_v4().simple())
}

fn policy(rate: u32, period: Duration, burst: u32) -> RatePolicy {
    RatePolicy::new("test", rate, period, burst).unwrap()
}

const MINUTE: Duration = Duration::from_secs(60);

mod cases {
    use super::*;

    pub async fn a_burst_is_allowed_then_refused_until_one_interval(limiter: &dyn RateLimiter) {
        let (key, p) = (new_key(), policy(2, Duration::from_secs(1), 3));
        let fresh = limiter.check(&key, &p).await.unwrap();
        assert!(fresh.allowed);
        assert_eq!(fresh.remaining, 2);
        assert!(fresh.replenish_after <= Duration::from_millis(500));
        for remaining in [1, 0] {
            let d = limiter.check(&key, &p).await.unwrap();
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = limiter.check(&key, &p).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        let wait = refused.retry_after().unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(refused.reset_after <= Duration::from_millis(1500));
        assert!(refused.reset_after >= Duration::from_millis(1000) + wait);
    }

    pub async fn refusals_consume_nothing(limiter: &dyn RateLimiter) {
        let (key, p) = (new_key(), policy(1, Duration::from_millis(300), 1));
        assert!(limiter.check(&key, &p).await.unwrap().allowed);
        let mut wait = Duration::ZERO;
        for _ in 0..5 {
            let refused = limiter.check(&key, &p).await.unwrap();
            wait = refused.retry_after().expect("refused");
        }
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
        assert!(limiter.check(&key, &p).await.unwrap().allowed);
    }

    pub async fn keys_are_independent(limiter: &dyn RateLimiter) {
        let p = policy(1, MINUTE, 1);
        let (first, second) = (new_key(), new_key());
        assert!(limiter.check(&first, &p).await.unwrap().allowed);
        assert!(!limiter.check(&first, &p).await.unwrap().allowed);
        assert!(limiter.check(&second, &p).await.unwrap().allowed);
    }

    pub async fn concurrent_requests_never_exceed_the_burst(limiter: &dyn RateLimiter) {
        let (key, p) = (new_key(), policy(1, MINUTE, 10));
        let decisions = join_all((0..40).map(|_| limiter.check(&key, &p))).await;
        let allowed = decisions
            .into_iter()
            .filter(|d| d.as_ref().unwrap().allowed)
            .count();
        assert_eq!(allowed, 10);
    }

    /// Checks arriving together (coalesced into one Redis call) are decided as if one after
    /// the other: each allowed one sees one request fewer remaining, the refused ones see none
    /// and when to retry.
    pub async fn concurrent_decisions_count_down_like_sequential_ones(limiter: &dyn RateLimiter) {
        let (key, p) = (new_key(), policy(1, MINUTE, 10));
        let decisions: Vec<_> = join_all((0..40).map(|_| limiter.check(&key, &p)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let mut remaining: Vec<u32> = decisions
            .iter()
            .filter(|d| d.allowed)
            .map(|d| d.remaining)
            .collect();
        remaining.sort_unstable();
        assert_eq!(remaining, (0..10).collect::<Vec<_>>());
        for refused in decisions.iter().filter(|d| !d.allowed) {
            assert_eq!(refused.remaining, 0);
            let wait = refused.retry_after().unwrap();
            assert!(wait > Duration::from_secs(50) && wait <= MINUTE, "{wait:?}");
        }
        assert!(!limiter.check(&key, &p).await.unwrap().allowed);
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let limiter = super::InMemoryRateLimiter::new();
                    super::cases::$case(&limiter).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let limiter = super::redis_limiter();
                    super::cases::$case(&limiter).await;
                }
            )*
        }
    };
}

contract!(
    a_burst_is_allowed_then_refused_until_one_interval,
    refusals_consume_nothing,
    keys_are_independent,
    concurrent_requests_never_exceed_the_burst,
    concurrent_decisions_count_down_like_sequential_ones,
);

// ---------------------------------------------------------------------------------------------
// Redis limiter only

#[tokio::test]
async fn replicas_draw_on_one_budget() {
    // Two limiters, two pools: as two server processes would have.
    let (replica_a, replica_b) = (redis_limiter(), redis_limiter());
    let (key, p) = (new_key(), policy(1, MINUTE, 4));
    let mut remaining = Vec::new();
    for replica in [&replica_a, &replica_b, &replica_a, &replica_b] {
        let d = replica.check(&key, &p).await.unwrap();
        assert!(d.allowed);
        remaining.push(d.remaining);
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    assert!(!replica_a.check(&key, &p).await.unwrap().allowed);
    assert!(!replica_b.check(&key, &p).await.unwrap().allowed);

    // Both at once, many times: still exactly the burst.
    let key = new_key();
    let calls = (0..30).map(|n| {
        let replica = if n % 2 == 0 { &replica_a } else { &replica_b };
        replica.check(&key, &p)
    });
    let allowed = join_all(calls)
        .await
        .into_iter()
        .filter(|d| d.as_ref().unwrap().allowed)
        .count();
    assert_eq!(allowed, 4);
}

#[tokio::test]
async fn the_state_is_one_prefixed_key_that_expires_when_the_bucket_is_full() {
    use deadpool_redis::redis;

    let url = redis_url();
    let limiter = redis_limiter_at(&url, Duration::from_secs(5));
    let (key, p) = (new_key(), policy(10, MINUTE, 10)); // one every 6 s
    for _ in 0..3 {
        limiter.check(&key, &p).await.unwrap();
    }
    let client = adapters::redis::open_client(&url).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let stored = format!("{RATE_LIMIT_KEY_PREFIX}{key}");
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(&stored)
        .query_async(&mut raw)
        .await
        .unwrap();
    // Three requests used: the bucket is full again 18 s later.
    assert!((17_000..=18_000).contains(&ttl_ms), "PTTL {ttl_ms}");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{key}*"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys, [stored]);
}

#[tokio::test]
async fn decisions_go_on_after_redis_forgets_the_script() {
    use deadpool_redis::redis;

    // What a Redis restart or failover does to the script cache.
    let url = redis_url();
    let limiter = redis_limiter_at(&url, Duration::from_secs(5));
    let (key, p) = (new_key(), policy(1, MINUTE, 2));
    assert!(limiter.check(&key, &p).await.unwrap().allowed);
    let client = adapters::redis::open_client(&url).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(limiter.check(&key, &p).await.unwrap().allowed);
    assert!(!limiter.check(&key, &p).await.unwrap().allowed);
}

#[tokio::test]
async fn limiter_debug_hides_the_password() {
    let limiter = redis_limiter_at(
        "redis://user:s3cret-pw@127.0.0.1:6379/0",
        Duration::from_secs(1),
    );
    let shown = format!("{limiter:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("127.0.0.1:6379"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Fallback to memory

/// A bound on hanging, not a performance figure (slow CI machines get plenty of slack).
const FAST: Duration = Duration::from_secs(3);
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

fn fallback_over(redis: Arc<RedisRateLimiter>, retry_after: Duration) -> FallbackRateLimiter {
    FallbackRateLimiter::new(
        redis,
        Arc::new(InMemoryRateLimiter::new()),
        FallbackIntervals {
            warn_every: Duration::from_secs(30),
            retry_after,
        },
    )
}

#[tokio::test]
async fn unreachable_redis_falls_back_to_a_bounded_local_limiter() {
    // A port nothing listens on: connections are refused.
    let url = format!("redis://127.0.0.1:{}", free_port());
    let redis = Arc::new(redis_limiter_at(&url, SHORT_TIMEOUT));
    assert!(
        redis
            .check(&new_key(), &policy(1, MINUTE, 1))
            .await
            .is_err()
    );
    let limiter = fallback_over(redis, Duration::ZERO);

    let (key, p) = (new_key(), policy(1, MINUTE, 3));
    let mut allowed = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let decision = limiter.check(&key, &p).await.expect("never an error");
        assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
        allowed.push(decision.allowed);
    }
    assert_eq!(allowed, [true, true, true, false, false], "never unlimited");
    assert_eq!(limiter.fallback_count(), 5);
    assert!(!limiter.is_shared());
}

#[tokio::test]
async fn the_fallback_ends_when_redis_answers_again() {
    let mut server = Redis::start_plain(None).unwrap();
    let url = server.url();
    let redis = Arc::new(redis_limiter_at(&url, SHORT_TIMEOUT));
    let retry_after = Duration::from_millis(200);
    let limiter = fallback_over(redis, retry_after);
    // Another replica, on the same Redis, to see whose budget is used.
    let other_replica = redis_limiter_at(&url, SHORT_TIMEOUT);
    let p = policy(1, MINUTE, 3);

    let key = new_key();
    assert_eq!(limiter.check(&key, &p).await.unwrap().remaining, 2);
    assert_eq!(other_replica.check(&key, &p).await.unwrap().remaining, 1);
    assert_eq!(limiter.fallback_count(), 0);

    // Redis dies: the local budget (unused so far) decides, and stays bounded.
    server.kill().unwrap();
    let local: Vec<bool> = decide(&limiter, &key, &p, 4).await;
    assert_eq!(local, [true, true, true, false]);
    assert_eq!(limiter.fallback_count(), 4);

    // Redis is back, empty: once the retry interval has passed, it decides again, and the
    // other replica sees the requests made through this one.
    server.restart().unwrap();
    tokio::time::sleep(retry_after + Duration::from_millis(50)).await;
    let key = new_key();
    assert_eq!(limiter.check(&key, &p).await.unwrap().remaining, 2);
    assert!(limiter.is_shared());
    assert_eq!(limiter.fallback_count(), 4);
    assert_eq!(other_replica.check(&key, &p).await.unwrap().remaining, 1);
}

async fn decide(limiter: &dyn RateLimiter, key: &str, p: &RatePolicy, n: usize) -> Vec<bool> {
    let mut allowed = Vec::with_capacity(n);
    for _ in 0..n {
        allowed.push(limiter.check(key, p).await.unwrap().allowed);
    }
    allowed
}
