//! End to end with the built binary: two server processes on one Redis (a redis-server of this
//! test's own) draw on one budget per client; while Redis is down each decides alone, bounded
//! and without errors; once Redis is back they share again.
//!
//! The login policy per IP makes the numbers exact: 4 attempts a minute means one more only
//! every 15 s, far longer than the test, so every budget below only goes down.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::shared::built_binary::{Running, start};
use testkit::redis::Redis;

const LOGINS_PER_MINUTE: &str = "4";

/// The longest any answer may take while Redis is down: only to prove that nothing hangs.
const ANSWER_BOUND: Duration = Duration::from_secs(5);

/// How long the servers may take to use Redis again once it is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// One failed login attempt's answer: status, `Retry-After`, and `r` of two policies.
#[derive(Debug)]
struct Attempt {
    status: StatusCode,
    retry_after: Option<u64>,
    login_ip_remaining: u32,
    default_remaining: u32,
}

fn remaining(response: &Response, policy: &str) -> u32 {
    let prefix = format!("\"{policy}\";r=");
    response
        .headers()
        .get_all("ratelimit")
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .find_map(|member| {
            let rest = member.trim().strip_prefix(&prefix)?;
            rest.split(';').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no RateLimit for {policy}: {:?}", response.headers()))
}

async fn attempt(client: &reqwest::Client, server: &Running) -> Attempt {
    let started = Instant::now();
    let response = client
        .post(format!("{}/auth/login", server.base()))
        .json(&json!({"username": "nobody", "password": "a wrong password"}))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < ANSWER_BOUND,
        "took {:?}",
        started.elapsed()
    );
    let status = response.status();
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
        "{status} from {}: never an error",
        server.base()
    );
    Attempt {
        status,
        retry_after: response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap()),
        login_ip_remaining: remaining(&response, "login-ip"),
        default_remaining: remaining(&response, "default"),
    }
}

/// `(status, login-ip r)` of the next attempt.
async fn next(client: &reqwest::Client, server: &Running) -> (StatusCode, u32) {
    let a = attempt(client, server).await;
    (a.status, a.login_ip_remaining)
}

/// How many log lines of `server` contain `needle`, once at least one does (the log is read
/// by another thread, a moment after the answer).
async fn logged(server: &Running, needle: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let count = server
            .logs()
            .iter()
            .filter(|line| line.contains(needle))
            .count();
        if count > 0 || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const REFUSED: StatusCode = StatusCode::TOO_MANY_REQUESTS;

#[tokio::test]
async fn replicas_share_one_budget_through_redis_and_fall_back_alone_while_it_is_down() {
    let mut redis = Redis::start_plain(None).unwrap();
    let redis_url = redis.url();
    let env = [
        ("REDIS_URL", redis_url.as_str()),
        ("ORDER_MANAGER_REDIS_TIMEOUT_MS", "300"),
    ];
    let args = [
        "--login-rate-per-minute-ip",
        LOGINS_PER_MINUTE,
        "--login-rate-per-minute-user",
        "1000",
        "--login-rate-per-minute-user-all",
        "1000",
        // A burst no test exhausts, replenished slowly enough that sharing shows in `r`.
        "--rate-limit-rps",
        "1",
        "--rate-limit-burst",
        "1000",
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(dir_a.path(), &args, &env);
    let b = start(dir_b.path(), &args, &env);
    let client = crate::support::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // One combined budget: each attempt, on either replica, takes from the same four.
    let first = attempt(&client, &a).await;
    let second = attempt(&client, &b).await;
    assert_eq!((first.status, first.login_ip_remaining), (UNAUTHORIZED, 3));
    assert_eq!(
        (second.status, second.login_ip_remaining),
        (UNAUTHORIZED, 2)
    );
    assert!(
        second.default_remaining < first.default_remaining,
        "the per-IP policy is shared too: {first:?} then {second:?}"
    );
    assert_eq!(next(&client, &a).await, (UNAUTHORIZED, 1));
    assert_eq!(next(&client, &b).await, (UNAUTHORIZED, 0));
    for server in [&a, &b] {
        let refused = attempt(&client, server).await;
        assert_eq!(refused.status, REFUSED, "{refused:?}");
        assert!(
            refused.retry_after.is_some_and(|s| (1..=15).contains(&s)),
            "{refused:?}"
        );
    }

    // Redis stops: each replica decides alone, with its own (unused) budget: still bounded,
    // never an error, and said once in the log, not per request.
    redis.kill().unwrap();
    for expected_remaining in [3, 2, 1, 0] {
        assert_eq!(next(&client, &a).await, (UNAUTHORIZED, expected_remaining));
    }
    assert_eq!(next(&client, &a).await.0, REFUSED);
    assert_eq!(next(&client, &b).await, (UNAUTHORIZED, 3));
    assert_eq!(next(&client, &b).await, (UNAUTHORIZED, 2));
    for server in [&a, &b] {
        let health = client
            .get(format!("{}/healthz", server.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        assert_eq!(logged(server, "the shared rate limiter failed").await, 1);
    }

    // Redis is back (empty): A's own budget is used up, so its first allowed attempt is
    // Redis's fresh budget deciding again.
    redis.restart().unwrap();
    let deadline = Instant::now() + RECOVERY_BOUND;
    loop {
        let (status, remaining) = next(&client, &a).await;
        if status == UNAUTHORIZED {
            assert_eq!(remaining, 3, "a fresh shared budget");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A still decides alone {RECOVERY_BOUND:?} after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // B's own budget would say 1 left; the shared one says 2.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(next(&client, &b).await, (UNAUTHORIZED, 2));
    assert_eq!(next(&client, &a).await, (UNAUTHORIZED, 1));
    assert_eq!(next(&client, &b).await, (UNAUTHORIZED, 0));
    assert_eq!(next(&client, &a).await.0, REFUSED);
    for server in [&a, &b] {
        assert_eq!(
            logged(server, "the shared rate limiter answers again").await,
            1
        );
    }
}
