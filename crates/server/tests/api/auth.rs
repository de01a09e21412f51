//! Authentication and authorization through the HTTP stack.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Scope;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    SAMPLE, TestApp, assert_problem, create_api_key, create_user, revoke_api_key, spawn_app,
    spawn_app_with,
};

const PASSWORD: &str = "correct horse battery staple";

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/auth/login", app.address))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn token(app: &TestApp, username: &str) -> String {
    let response = login(app, username, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_owned()
}

fn summaries(app: &TestApp) -> RequestBuilder {
    app.client
        .get(format!("{}/customers/summaries", app.address))
}

fn post_sample(app: &TestApp) -> RequestBuilder {
    app.client
        .post(format!("{}/orders", app.address))
        .header("content-type", "application/json")
        .body(SAMPLE)
}

async fn assert_unauthorized(request: RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"order-manager\"")
    );
    assert_problem(response, StatusCode::UNAUTHORIZED).await
}

#[tokio::test]
async fn login_gives_a_token_that_works_until_logout() {
    let app = spawn_app().await;
    create_user(&app.settings, "alice", PASSWORD, &[Scope::CustomersRead]).await;
    let token = token(&app, "alice").await;
    assert_eq!(
        summaries(&app)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let logout = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let problem = assert_unauthorized(summaries(&app).bearer_auth(&token)).await;
    assert_generic_with_reason(&app, &problem, "session_ended").await;
}

/// Every 401 says the same; the reason is only in the log and the failure metric.
async fn assert_generic_with_reason(app: &TestApp, problem: &serde_json::Value, reason: &str) {
    assert_eq!(
        problem["detail"].as_str().unwrap(),
        "missing or invalid credentials: send `Authorization: Bearer <token>` (from POST \
         /auth/login) or `X-API-Key: <key>`"
    );
    let metrics = app.metrics().await;
    let counted = format!(r#"order_manager_auth_failures_total{{reason="{reason}"}}"#);
    assert!(metrics.contains(&counted), "no {counted} in:\n{metrics}");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_401() {
    let app = spawn_app().await;
    create_user(&app.settings, "alice", PASSWORD, &[Scope::Admin]).await;
    let wrong = login(&app, "alice", "not the password").await;
    assert!(wrong.headers().contains_key("www-authenticate"));
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = assert_problem(
        login(&app, "mallory", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong, unknown);
    let malformed_name =
        assert_problem(login(&app, "a b", PASSWORD).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, malformed_name);
}

#[tokio::test]
async fn malformed_login_requests_are_400() {
    let app = spawn_app().await;
    for body in [
        json!({"username": "alice"}),
        json!({"password": PASSWORD}),
        json!({"username": 1, "password": PASSWORD}),
        json!([]),
    ] {
        let response = app
            .client
            .post(format!("{}/auth/login", app.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
}

/// The public login route takes at most 4 KiB, parsed straight into its two fields.
#[tokio::test]
async fn login_bodies_are_small_and_strict() {
    let app = spawn_app().await;
    let post = |body: String| {
        app.client
            .post(format!("{}/auth/login", app.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let padded = format!(
        r#"{{"username":"alice","password":"{PASSWORD}","pad":"{}"}}"#,
        "x".repeat(4 * 1024)
    );
    assert_problem(post(padded).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE).await;
    let zeros = format!("[{}0]", "0,".repeat(1024 * 1024));
    assert_problem(post(zeros).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE).await;
    let repeated = format!(r#"{{"username":"x","username":"alice","password":"{PASSWORD}"}}"#);
    assert_problem(post(repeated).await.unwrap(), StatusCode::BAD_REQUEST).await;
    // Just under the limit, with a key the route does not know: still a login.
    create_user(&app.settings, "alice", PASSWORD, &[Scope::CustomersRead]).await;
    let fitting = format!(
        r#"{{"username":"alice","password":"{PASSWORD}","note":"{}"}}"#,
        "x".repeat(3 * 1024)
    );
    assert_eq!(post(fitting).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_and_malformed_credentials_are_401() {
    let app = spawn_app().await;
    assert_unauthorized(summaries(&app)).await;
    assert_unauthorized(summaries(&app).header("authorization", "Basic YWxpY2U6c2VjcmV0")).await;
    assert_unauthorized(summaries(&app).header("authorization", "Bearer")).await;
    assert_unauthorized(summaries(&app).bearer_auth("not.a.jwt")).await;
    assert_unauthorized(summaries(&app).header("x-api-key", "omk_nope")).await;
    assert_unauthorized(
        summaries(&app)
            .header("x-api-key", &app.api_key)
            .bearer_auth("x.y.z"),
    )
    .await;
    assert_unauthorized(post_sample(&app)).await;
    assert_unauthorized(app.client.post(format!("{}/auth/logout", app.address))).await;
}

#[tokio::test]
async fn unsigned_and_forged_tokens_are_refused() {
    let app = spawn_app().await;
    create_user(&app.settings, "alice", PASSWORD, &[Scope::CustomersRead]).await;
    let genuine = token(&app, "alice").await;
    let payload = genuine.split('.').nth(1).unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    assert_unauthorized(summaries(&app).bearer_auth(format!("{none_header}.{payload}."))).await;

    // The same claims with admin scope, keeping the original signature.
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut escalated = claims.clone();
    escalated["scope"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(escalated.to_string());
    let mut parts = genuine.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    assert_unauthorized(
        summaries(&app).bearer_auth(format!("{header}.{forged_payload}.{signature}")),
    )
    .await;
}

#[tokio::test]
async fn scopes_decide_what_a_key_may_do() {
    let app = spawn_app().await;
    let reader = create_api_key(&app.settings, &[Scope::CustomersRead]).await;
    let writer = create_api_key(&app.settings, &[Scope::OrdersWrite]).await;

    let forbidden = post_sample(&app)
        .header("x-api-key", &reader)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(forbidden, StatusCode::FORBIDDEN).await;
    assert!(problem["detail"].as_str().unwrap().contains("orders:write"));
    assert_eq!(
        summaries(&app)
            .header("x-api-key", &reader)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    assert_eq!(
        post_sample(&app)
            .header("x-api-key", &writer)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let problem = assert_problem(
        summaries(&app)
            .header("x-api-key", &writer)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("customers:read")
    );
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_without_the_key_cache() {
    let app = spawn_app_with(&["--api-key-cache-secs", "0"]).await;
    let key = create_api_key(&app.settings, &[Scope::CustomersRead]).await;
    assert_eq!(
        summaries(&app)
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    revoke_api_key(&app.settings, &key).await;
    let problem = assert_unauthorized(summaries(&app).header("x-api-key", &key)).await;
    assert_generic_with_reason(&app, &problem, "revoked_api_key").await;
}

#[tokio::test]
async fn an_api_key_has_no_session_to_log_out_and_probes_are_public() {
    let app = spawn_app().await;
    let logout = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .header("x-api-key", &app.api_key)
        .send()
        .await
        .unwrap();
    assert_problem(logout, StatusCode::FORBIDDEN).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_key_revoked_elsewhere_stops_working_when_its_cache_entry_expires() {
    let app = spawn_app_with(&["--api-key-cache-secs", "1"]).await;
    let key = create_api_key(&app.settings, &[Scope::CustomersRead]).await;
    let status = |app: &TestApp| {
        let request = summaries(app).header("x-api-key", &key);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(&app).await, StatusCode::OK);
    // Revoked by another process (the admin command): this one remembers the key for 1 s.
    revoke_api_key(&app.settings, &key).await;
    let revoked_at = std::time::Instant::now();
    while status(&app).await == StatusCode::OK {
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(5),
            "the revoked key still works after 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let problem = assert_unauthorized(summaries(&app).header("x-api-key", &key)).await;
    assert_generic_with_reason(&app, &problem, "revoked_api_key").await;
}
