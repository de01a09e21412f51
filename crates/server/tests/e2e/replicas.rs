//! End-to-end tests of sessions in Redis with the built binary: two replicas that share them,
//! and one replica that lives through a Redis outage.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::Value;
use testkit::redis::Redis;

use crate::shared::built_binary::{
    BINARY, Running, TEST_SECRET, api_key_create_in, create_database, start,
};
use crate::shared::problem::assert_problem;
use crate::support::{USERNAME, client, login, login_with, token, user_add, user_command};

/// The longest a request may take while Redis is down: far above the 300 ms Redis timeout the
/// server is given, only to prove that nothing hangs.
const OUTAGE_ANSWER_BOUND: Duration = Duration::from_secs(5);

/// How long the server may take to use Redis again once it is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

async fn summaries_with_token(client: &reqwest::Client, server: &Running, token: &str) -> Response {
    client
        .get(format!("{}/customers/summaries", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn logout(client: &reqwest::Client, server: &Running, token: &str) -> Response {
    client
        .post(format!("{}/auth/logout", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A 401 problem whose `WWW-Authenticate` tells a bearer client its token is no longer good.
async fn assert_token_refused(response: Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .expect("a 401 must carry WWW-Authenticate")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

/// A 503 problem with `Retry-After` in seconds.
async fn assert_unavailable(response: Response) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("a 503 must carry Retry-After")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(retry_after.parse::<u32>().is_ok(), "{retry_after}");
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
}

/// A freshly migrated MariaDB database of its own and the shared Redis of `cargo xtask ci`:
/// the database URL and the Redis URL.
async fn shared_stores() -> (String, String) {
    let mysql = testkit::stores::mysql_server_url();
    let redis = testkit::stores::redis_url();
    let name = format!("om_e2e_{}", uuid::Uuid::new_v4().simple());
    create_database(&mysql, &name).await;
    let url = testkit::stores::database_url(&mysql, &name);
    let migrated = Command::new(BINARY)
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    (url, redis)
}

/// Two replicas on one MariaDB database and one Redis: a session opened on one is usable on
/// the other, and a logout on either ends it on both.
#[tokio::test]
async fn two_replicas_share_sessions_through_redis() {
    let (url, redis) = shared_stores().await;

    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    user_add(dir_a.path(), &[("DATABASE_URL", url.as_str())]);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("ORDER_MANAGER_JWT_SECRET", TEST_SECRET),
    ];
    let replica_a = start(dir_a.path(), &[], &env);
    let replica_b = start(dir_b.path(), &[], &env);
    let client = client();

    let token = token(&client, &replica_a).await;
    for replica in [&replica_a, &replica_b] {
        let response = summaries_with_token(&client, replica, &token).await;
        assert_eq!(response.status(), StatusCode::OK, "on {}", replica.base());
        let body: Value = response.json().await.unwrap();
        assert!(body["summaries"].is_array(), "{body}");
    }

    let response = logout(&client, &replica_b, &token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    for replica in [&replica_a, &replica_b] {
        assert_token_refused(summaries_with_token(&client, replica, &token).await).await;
    }
    // Logging out again is refused the same way: the session is gone everywhere.
    assert_token_refused(logout(&client, &replica_a, &token).await).await;
}

/// Sends a request and checks that the answer came within [`OUTAGE_ANSWER_BOUND`].
async fn timed(what: &str, request: impl Future<Output = Response>) -> Response {
    let started = Instant::now();
    let response = request.await;
    let took = started.elapsed();
    assert!(
        took < OUTAGE_ANSWER_BOUND,
        "{what} took {took:?} while Redis was down"
    );
    response
}

/// One server on SQLite with sessions in a Redis that dies and comes back: while it is down,
/// what needs a session answers 503 quickly, API keys still work, and once it is back, logins
/// work again without restarting the server.
#[tokio::test]
async fn redis_outage_answers_503_and_recovers_without_restart() {
    let mut redis = Redis::start_plain(None).unwrap();
    let redis_url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    user_add(dir.path(), &[]);
    let api_key = api_key_create_in(dir.path());
    let server = start(
        dir.path(),
        &[],
        &[
            ("REDIS_URL", redis_url.as_str()),
            ("ORDER_MANAGER_REDIS_TIMEOUT_MS", "300"),
        ],
    );
    let client = client();

    let token = token(&client, &server).await;
    let response = summaries_with_token(&client, &server, &token).await;
    assert_eq!(response.status(), StatusCode::OK);

    redis.kill().unwrap();

    for attempt in 1..=3 {
        let response = timed(
            &format!("bearer request {attempt}"),
            summaries_with_token(&client, &server, &token),
        )
        .await;
        assert_unavailable(response).await;
    }
    assert_unavailable(timed("logout", logout(&client, &server, &token)).await).await;
    let response = timed("API key request", async {
        client
            .get(format!("{}/customers/summaries", server.base()))
            .header("x-api-key", &api_key)
            .send()
            .await
            .unwrap()
    })
    .await;
    assert_eq!(response.status(), StatusCode::OK, "API keys need no Redis");
    assert_unavailable(timed("login", login(&client, &server)).await).await;

    redis.restart().unwrap();

    let deadline = Instant::now() + RECOVERY_BOUND;
    let fresh = loop {
        let response = login(&client, &server).await;
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.unwrap();
            break body["access_token"].as_str().unwrap().to_owned();
        }
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "login while Redis comes back"
        );
        assert!(
            Instant::now() < deadline,
            "login still fails {RECOVERY_BOUND:?} after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Once Redis answers again, every call does: no dead pooled connection is handed out.
    for _ in 0..5 {
        let response = summaries_with_token(&client, &server, &fresh).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The restarted Redis is empty (it persists nothing), so the old session is gone.
    assert_token_refused(summaries_with_token(&client, &server, &token).await).await;
    let response = logout(&client, &server, &fresh).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_token_refused(summaries_with_token(&client, &server, &fresh).await).await;
}

/// Disabling a user, changing its password or revoking its sessions ends every session of the
/// user on every replica at once (through Redis); a disabled user cannot log in until enabled.
#[tokio::test]
async fn user_lifecycle_commands_end_sessions_on_every_replica() {
    let (url, redis) = shared_stores().await;
    let admin = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    user_add(dir_a.path(), &[("DATABASE_URL", url.as_str())]);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("ORDER_MANAGER_JWT_SECRET", TEST_SECRET),
    ];
    // This test logs in more often than the login budgets allow, and they are kept in the
    // Redis that other tests (from this same address) share.
    let args = [
        "--login-rate-per-minute-ip",
        "1000",
        "--login-rate-per-minute-user",
        "1000",
        "--login-rate-per-minute-user-all",
        "1000",
    ];
    let replicas = [
        start(dir_a.path(), &args, &env),
        start(dir_b.path(), &args, &env),
    ];
    let client = client();
    let assert_refused_everywhere = |token: String| {
        let client = client.clone();
        let replicas = &replicas;
        async move {
            for replica in replicas {
                assert_token_refused(summaries_with_token(&client, replica, &token).await).await;
            }
        }
    };

    // Disable: the open session ends on both replicas, and no new one can start.
    let first = token(&client, &replicas[0]).await;
    let second = token(&client, &replicas[1]).await;
    user_command(dir_a.path(), &admin, &["disable", USERNAME], None);
    assert_refused_everywhere(first).await;
    assert_refused_everywhere(second).await;
    let refused = login(&client, &replicas[1]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let listed = user_command(dir_a.path(), &admin, &["list"], None);
    let line = listed.lines().find(|l| l.starts_with(USERNAME)).unwrap();
    assert!(!line.ends_with("\t-"), "listed as disabled: {listed}");

    // Enable: logins work again.
    user_command(dir_a.path(), &admin, &["enable", USERNAME], None);
    let third = token(&client, &replicas[0]).await;
    let listed = user_command(dir_a.path(), &admin, &["list"], None);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(USERNAME) && l.ends_with("\t-")),
        "{listed}"
    );

    // A new password: the old sessions and the old password stop working.
    let new_password = "a brand new long password";
    user_command(
        dir_a.path(),
        &admin,
        &["passwd", USERNAME],
        Some(new_password),
    );
    assert_refused_everywhere(third).await;
    assert_eq!(
        login(&client, &replicas[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = login_with(&client, &replicas[1], new_password).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fourth = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        summaries_with_token(&client, &replicas[0], &fourth)
            .await
            .status(),
        StatusCode::OK
    );

    // Revoke the sessions alone: the token ends, the password still works.
    user_command(
        dir_a.path(),
        &admin,
        &["sessions", "revoke", USERNAME],
        None,
    );
    assert_refused_everywhere(fourth).await;
    assert_eq!(
        login_with(&client, &replicas[0], new_password)
            .await
            .status(),
        StatusCode::OK
    );
}
