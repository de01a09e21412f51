//! Metrics, request ids and readiness, through the real HTTP stack.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{SAMPLE, assert_problem, spawn_app};

#[tokio::test]
async fn metrics_carry_route_templates_and_business_counters() {
    let app = spawn_app().await;
    assert_eq!(app.post_orders(SAMPLE).await.status(), StatusCode::CREATED);
    assert_eq!(
        app.get("/customers/01/items").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/customers/nobody-7/items").await.status(),
        StatusCode::NOT_FOUND
    );
    let unauthenticated = app
        .client
        .get(format!("{}/customers/summaries", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let text = app.metrics().await;
    for needle in [
        r#"http_requests_total{method="POST",route="/orders",status="201"}"#,
        r#"http_requests_total{method="GET",route="/customers/{customerId}/items",status="200"}"#,
        r#"http_requests_total{method="GET",route="/customers/{customerId}/items",status="404"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/customers/{customerId}/items",status="200",le="0.005"}"#,
        "order_manager_orders_ingested_total",
        "order_manager_order_items_ingested_total",
        r#"order_manager_auth_failures_total{reason="missing_or_malformed"}"#,
        r#"order_manager_db_pool_connections{state="idle"}"#,
        "order_manager_db_pool_max_connections",
        r#"order_manager_build_info{version=""#,
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    assert!(
        !text.contains("nobody-7"),
        "raw paths must never become labels"
    );
    // The public listener does not serve metrics.
    assert_problem(app.get("/metrics").await, StatusCode::NOT_FOUND).await;
}

/// Invented methods and paths share one label value each: the number of series does not grow
/// with them.
#[tokio::test]
async fn random_methods_and_paths_do_not_grow_the_metric_series() {
    let app = spawn_app().await;
    let series = || async {
        let text = app.metrics().await;
        text.lines()
            .filter(|line| line.starts_with("http_requests_total{"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let send = |round: usize| {
        let app = &app;
        async move {
            for n in 0..500 {
                let method =
                    reqwest::Method::from_bytes(format!("X{round}M{n}").as_bytes()).unwrap();
                let response = app
                    .client
                    .request(method, format!("{}/r{round}/p{n}", app.address))
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_client_error(), "{}", response.status());
            }
        }
    };
    send(1).await;
    let after_500 = series().await;
    send(2).await;
    let after_1000 = series().await;
    assert_eq!(after_500.len(), after_1000.len(), "{after_1000:#?}");
    assert!(
        after_1000
            .iter()
            .all(|line| !line.contains("X1M") && !line.contains("/r1/")),
        "{after_1000:#?}"
    );
    assert!(
        after_1000
            .iter()
            .any(|line| line.contains(r#"method="OTHER",route="unmatched""#)),
        "{after_1000:#?}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let generated = app.get("/customers/summaries").await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let kept = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "shop-42.retry:1")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "shop-42.retry:1");

    let replaced = app
        .client
        .get(format!("{}/nowhere", app.address))
        .header("x-request-id", "x".repeat(200))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.headers()["x-request-id"].len(), 36);
    assert_problem(replaced, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn readiness_reports_the_database() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "up");
}
