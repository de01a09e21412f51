//! Rate limiting through the HTTP stack (in-memory limiter): 429 with `Retry-After` and the
//! IETF `RateLimit` fields, budgets per client IP, `X-Forwarded-For` believed only from trusted
//! proxies, the login policies, and probes that are never limited.

use std::net::IpAddr;
use std::time::Duration;

use domain::Scope;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, create_user, spawn_app_with};

const PASSWORD: &str = "correct horse battery staple";

/// A client whose connections come from `local` (any 127.0.0.0/8 address is the loopback).
fn client_from(local: &str) -> reqwest::Client {
    crate::helpers::client_builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn summaries(app: &TestApp, client: &reqwest::Client) -> RequestBuilder {
    client
        .get(format!("{}/customers/summaries", app.address))
        .header("x-api-key", &app.api_key)
}

fn login(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> RequestBuilder {
    client
        .post(format!("{}/auth/login", app.address))
        .json(&json!({"username": username, "password": password}))
}

/// Every value of a header field, split into its list members.
fn members(response: &Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|member| member.trim().to_owned())
        .collect()
}

/// The `RateLimit` member of `policy`, as `(r, t)`.
fn service_limit(response: &Response, policy: &str) -> (u32, u64) {
    let prefix = format!("\"{policy}\";");
    let member = members(response, "ratelimit")
        .into_iter()
        .find(|m| m.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no RateLimit for {policy}: {:?}", response.headers()));
    let param = |name: &str| -> u64 {
        member
            .split(';')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {member}"))
            .parse()
            .unwrap()
    };
    (u32::try_from(param("r")).unwrap(), param("t"))
}

fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.unwrap()
}

/// Sends `request` until it is refused; returns how many got through, and the refusal.
async fn until_refused(request: impl Fn() -> RequestBuilder) -> (usize, Response) {
    for through in 0..50 {
        let response = send(request()).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return (through, response);
        }
        assert_ne!(response.status().as_u16() / 100, 5, "{response:?}");
    }
    panic!("never refused");
}

#[tokio::test]
async fn a_burst_beyond_the_policy_is_refused_until_retry_after_has_passed() {
    // One request every 500 ms, three at once.
    let app = spawn_app_with(&["--rate-limit-rps", "2", "--rate-limit-burst", "3"]).await;
    let first = send(summaries(&app, &app.client)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        members(&first, "ratelimit-policy"),
        [r#""default";q=3;w=2"#]
    );
    assert_eq!(service_limit(&first, "default"), (2, 1));

    let (through, refused) = until_refused(|| summaries(&app, &app.client)).await;
    // Two more fit; a third only if this machine took over 500 ms for those.
    assert!((2..=3).contains(&through), "{through} more got through");
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        members(&refused, "ratelimit-policy"),
        [r#""default";q=3;w=2"#]
    );
    assert_eq!(service_limit(&refused, "default"), (0, 1));
    let body = assert_problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = send(summaries(&app, &app.client)).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_client_ips_have_independent_budgets() {
    let app = spawn_app_with(&["--rate-limit-rps", "1", "--rate-limit-burst", "2"]).await;
    let (first, second) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let (through, _) = until_refused(|| summaries(&app, &first)).await;
    assert_eq!(through, 2);
    let other = send(summaries(&app, &second)).await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(service_limit(&other, "default").0, 1);
    let still = send(summaries(&app, &first)).await;
    assert_eq!(still.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_client_that_is_no_trusted_proxy_cannot_change_identity_with_forwarded_for() {
    for trusted in [None, Some("127.0.0.1/32")] {
        let mut args = vec!["--rate-limit-rps", "1", "--rate-limit-burst", "2"];
        args.extend(trusted.iter().flat_map(|cidr| ["--trusted-proxies", cidr]));
        let app = spawn_app_with(&args).await;
        let client = client_from("127.0.0.2");
        let (through, _) = until_refused(|| summaries(&app, &client)).await;
        assert_eq!(through, 2);
        for forged in ["203.0.113.1", "203.0.113.2, 198.51.100.9", "127.0.0.3"] {
            let response = send(summaries(&app, &client).header("x-forwarded-for", forged)).await;
            assert_eq!(
                response.status(),
                StatusCode::TOO_MANY_REQUESTS,
                "X-Forwarded-For: {forged} (trusted proxies: {trusted:?})"
            );
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_ip_is_limited() {
    let app = spawn_app_with(&[
        "--rate-limit-rps",
        "1",
        "--rate-limit-burst",
        "2",
        "--trusted-proxies",
        "127.0.0.1/32",
    ])
    .await;
    // The test's own client connects from 127.0.0.1: it plays the ingress.
    let (app, proxy) = (&app, &app.client);
    let from = |client_ip: &'static str| {
        move || summaries(app, proxy).header("x-forwarded-for", client_ip)
    };
    let (through, _) = until_refused(from("203.0.113.1")).await;
    assert_eq!(through, 2);
    // Another client behind the same proxy has its own budget.
    assert_eq!(send(from("203.0.113.2")()).await.status(), StatusCode::OK);
    // What the client itself wrote left of the proxy's entry changes nothing.
    let spoofed = summaries(app, proxy).header("x-forwarded-for", "198.51.100.7, 203.0.113.1");
    assert_eq!(send(spoofed).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // IPv6 clients are limited per /64.
    let (through, _) = until_refused(from("2001:db8:1:2::1")).await;
    assert_eq!(through, 2);
    let same_64 = send(from("2001:db8:1:2:ffff::9")()).await;
    assert_eq!(same_64.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        send(from("2001:db8:1:3::1")()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_login_policy_stops_guessing_one_username_from_many_ips_of_one_network() {
    let app = spawn_app_with(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--login-rate-per-minute-user",
        "3",
    ])
    .await;
    create_user(&app.settings, "alice", PASSWORD, &[Scope::CustomersRead]).await;
    let guess = |n: u32, username: &str, password: &str| {
        login(&app, &app.client, username, password)
            .header("x-forwarded-for", format!("198.51.100.{n}"))
    };
    for n in 1..=3 {
        let response = send(guess(n, "alice", "a wrong guess")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        assert_eq!(service_limit(&response, "login-user").0, 3 - n);
        assert_eq!(service_limit(&response, "login-ip").0, 9);
    }
    let refused = send(guess(4, "alice", "another guess")).await;
    // Three a minute: one more every 20 s.
    let wait = retry_after(&refused);
    assert!((15..=20).contains(&wait), "Retry-After: {wait}");
    assert_eq!(service_limit(&refused, "login-user"), (0, wait));
    let policies = members(&refused, "ratelimit-policy");
    for expected in [
        r#""login-ip";q=10;w=60"#,
        r#""login-user";q=3;w=60"#,
        r#""default";q=200;w=2"#,
    ] {
        assert!(policies.iter().any(|p| p == expected), "{policies:?}");
    }
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS).await;

    // The right password is refused too from that network: no token, no hashing.
    let right = send(guess(5, "alice", PASSWORD)).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other usernames are not affected.
    let other = send(guess(6, "bob", "a wrong guess")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // Nor is the owner on another network: the attacker cannot lock alice out.
    let owner =
        send(login(&app, &app.client, "alice", PASSWORD).header("x-forwarded-for", "203.0.113.50"))
            .await;
    assert_eq!(owner.status(), StatusCode::OK);
}

/// A spray on one username from many networks (each within its own budgets) is held to the
/// username's budget from anywhere: beyond it attempts wait, then are refused; the owner, on
/// yet another network, still logs in once the spray has passed.
#[tokio::test]
async fn a_spray_from_many_networks_is_slowed_to_the_username_budget() {
    let app = spawn_app_with(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--login-rate-per-minute-user-all",
        "6",
    ])
    .await;
    create_user(&app.settings, "alice", PASSWORD, &[Scope::CustomersRead]).await;
    // 40 networks at once, one wrong guess each.
    let attempts = (1..=40u32).map(|n| {
        let request = login(&app, &app.client, "alice", "a wrong guess")
            .header("x-forwarded-for", format!("10.{n}.0.1"));
        async move { send(request).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let tried = statuses
        .iter()
        .filter(|status| **status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|status| **status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // On a machine with fewer cores the hashing queue may turn some of the admitted away (503).
    let busy = statuses
        .iter()
        .filter(|status| **status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!(tried + refused + busy, 40, "{statuses:?}");
    // The burst of 6, and one more each 10 s of the 3 s an attempt may wait: at most 7.
    assert!(
        (6..=7).contains(&(tried + busy)) && tried >= 1,
        "{tried} guesses were checked, {busy} found the hashing queue full"
    );
    // The owner, elsewhere, is slowed (told to retry once the budget refills), not locked out.
    let mut owner = None;
    for _ in 0..3 {
        let answer = send(
            login(&app, &app.client, "alice", PASSWORD).header("x-forwarded-for", "203.0.113.50"),
        )
        .await;
        if answer.status() != StatusCode::TOO_MANY_REQUESTS {
            owner = Some(answer.status());
            break;
        }
        let wait = retry_after(&answer);
        assert!(wait <= 10, "Retry-After: {wait}");
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    assert_eq!(owner, Some(StatusCode::OK));
}

#[tokio::test]
async fn the_login_policy_per_ip_stops_one_client_trying_many_usernames() {
    let app = spawn_app_with(&[
        "--login-rate-per-minute-ip",
        "2",
        "--login-rate-per-minute-user",
        "100",
    ])
    .await;
    let client = client_from("127.0.0.2");
    for name in ["user1", "user2"] {
        let response = send(login(&app, &client, name, PASSWORD)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = send(login(&app, &client, "user3", PASSWORD)).await;
    let wait = retry_after(&refused);
    assert!((25..=30).contains(&wait), "Retry-After: {wait}");
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    // Only logins: the client's other requests go on.
    let other = send(summaries(&app, &client)).await;
    assert_eq!(other.status(), StatusCode::OK);
    let elsewhere = send(login(&app, &client_from("127.0.0.3"), "user3", PASSWORD)).await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_limited_answer_carries_the_rate_limit_fields() {
    let app = spawn_app_with(&[]).await;
    let anonymous = app
        .client
        .get(format!("{}/customers/summaries", app.address));
    let cases = [
        (summaries(&app, &app.client), StatusCode::OK),
        (anonymous, StatusCode::UNAUTHORIZED),
        (
            app.client.get(format!("{}/nowhere", app.address)),
            StatusCode::NOT_FOUND,
        ),
        (
            app.client
                .delete(format!("{}/orders", app.address))
                .header("x-api-key", &app.api_key),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (request, status) in cases {
        let response = send(request).await;
        assert_eq!(response.status(), status);
        assert_eq!(
            members(&response, "ratelimit-policy"),
            [r#""default";q=200;w=2"#]
        );
        let (remaining, _) = service_limit(&response, "default");
        assert!(remaining < 200, "{remaining}");
    }
}

#[tokio::test]
async fn health_and_readiness_probes_are_never_limited() {
    let app = spawn_app_with(&["--rate-limit-rps", "1", "--rate-limit-burst", "1"]).await;
    let (through, _) = until_refused(|| summaries(&app, &app.client)).await;
    assert_eq!(through, 1);
    for _ in 0..30 {
        let health = send(app.client.get(format!("{}/healthz", app.address))).await;
        assert_eq!(health.status(), StatusCode::OK);
        assert!(health.headers().get("ratelimit").is_none());
        let ready = send(app.client.get(format!("{}/readyz", app.address))).await;
        assert_ne!(ready.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(ready.headers().get("ratelimit").is_none());
    }
}
