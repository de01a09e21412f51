//! `/readyz` with the database down and up again, without restarting the service. The database
//! "goes down" by cutting a TCP proxy that the app reaches MariaDB through.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::binary::{TEST_SECRET, create_database};
use crate::helpers::{TestApp, assert_problem, spawn_app_on};
use crate::shared::tcp_proxy::TcpProxy;

async fn readyz(app: &TestApp) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    (response, started.elapsed())
}

#[tokio::test]
async fn readiness_follows_the_database_down_and_up() {
    let server = testkit::stores::mysql_server_url();
    let name = format!("om_ready_{}", uuid::Uuid::new_v4().simple());
    create_database(&server, &name).await;
    let target = testkit::stores::address(&server);
    let proxy = TcpProxy::start(0, &target).await;
    let url = format!("mysql://root@127.0.0.1:{}/{name}", proxy.port);
    let app = spawn_app_on(
        &url,
        tempfile::tempdir().unwrap(),
        &[
            "--migrate",
            "--jwt-secret",
            TEST_SECRET,
            "--db-acquire-timeout-secs",
            "1",
        ],
    )
    .await;

    let (up, _) = readyz(&app).await;
    assert_eq!(up.status(), StatusCode::OK);
    let body: Value = up.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "up");

    proxy.cut().await;
    // A result is reused for up to a second (a flood of probes costs one ping a second).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (down, took) = loop {
        let (response, took) = readyz(&app).await;
        if response.status() != StatusCode::OK || Instant::now() > deadline {
            break (response, took);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let problem = assert_problem(down, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("database"),
        "{problem}"
    );
    assert!(
        took < Duration::from_secs(5),
        "the probe must not hang: {took:?}"
    );
    // Requests that need the database fail fast with 503, never 500.
    let orders = app.get("/customers/summaries").await;
    assert!(orders.headers().contains_key("retry-after"));
    assert_problem(orders, StatusCode::SERVICE_UNAVAILABLE).await;

    let _restored = proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (response, _) = readyz(&app).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.get("/customers/summaries").await.status(),
        StatusCode::OK
    );
}
