//! Whatever a client sends, the answer is a 4xx problem+json: never a 500, never a crash.

use reqwest::StatusCode;

use crate::helpers::{assert_problem, spawn_app};

fn order_with_cost(cost: &str) -> String {
    format!(
        r#"[{{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{{"itemId":"a","costEur":{cost}}}]}}]"#
    )
}

fn order_with_timestamp(ts: &str) -> String {
    format!(
        r#"[{{"customerId":"01","orderId":"x","timestamp":{ts},"items":[{{"itemId":"a","costEur":1}}]}}]"#
    )
}

fn order_with_customer(id: &str) -> String {
    format!(
        r#"[{{"customerId":{id},"orderId":"x","timestamp":"1637245070513","items":[{{"itemId":"a","costEur":1}}]}}]"#
    )
}

#[tokio::test]
async fn hostile_bodies_get_a_problem_answer() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let long_id = format!("\"{}\"", "x".repeat(65));
    let cases: Vec<(&str, String, StatusCode)> = vec![
        ("empty body", String::new(), StatusCode::BAD_REQUEST),
        ("truncated", r#"[{"customerId":"01""#.into(), StatusCode::BAD_REQUEST),
        ("not json", "hello".into(), StatusCode::BAD_REQUEST),
        ("trailing garbage", "[] []".into(), StatusCode::BAD_REQUEST),
        ("empty batch", "[]".into(), StatusCode::BAD_REQUEST),
        ("scalar", "42".into(), StatusCode::BAD_REQUEST),
        ("null", "null".into(), StatusCode::BAD_REQUEST),
        ("array of scalars", "[1,2]".into(), StatusCode::BAD_REQUEST),
        ("deep nesting", deep, StatusCode::BAD_REQUEST),
        ("duplicate keys", r#"{"orderId":"1","orderId":"2"}"#.into(), StatusCode::BAD_REQUEST),
        ("negative", order_with_cost("-1"), StatusCode::BAD_REQUEST),
        ("three decimals", order_with_cost("0.001"), StatusCode::BAD_REQUEST),
        ("huge exponent", order_with_cost("1e400"), StatusCode::BAD_REQUEST),
        ("tiny exponent", order_with_cost("1e-400"), StatusCode::BAD_REQUEST),
        ("huge integer", order_with_cost(&"9".repeat(400)), StatusCode::BAD_REQUEST),
        ("cost as string", order_with_cost("\"2\""), StatusCode::BAD_REQUEST),
        ("NaN", order_with_cost("NaN"), StatusCode::BAD_REQUEST),
        ("Infinity", order_with_cost("Infinity"), StatusCode::BAD_REQUEST),
        ("cost null", order_with_cost("null"), StatusCode::BAD_REQUEST),
        ("over max", order_with_cost("1000000000.01"), StatusCode::BAD_REQUEST),
        ("timestamp float", order_with_timestamp("1637245070513.5"), StatusCode::BAD_REQUEST),
        ("timestamp negative", order_with_timestamp("-1637245070513"), StatusCode::BAD_REQUEST),
        ("timestamp seconds", order_with_timestamp("\"1637245070\""), StatusCode::BAD_REQUEST),
        ("timestamp huge", order_with_timestamp(&"9".repeat(50)), StatusCode::BAD_REQUEST),
        ("timestamp object", order_with_timestamp("{}"), StatusCode::BAD_REQUEST),
        ("id too long", order_with_customer(&long_id), StatusCode::BAD_REQUEST),
        ("id control char", order_with_customer(r#""a\u0000b""#), StatusCode::BAD_REQUEST),
        ("id newline", order_with_customer(r#""a\nb""#), StatusCode::BAD_REQUEST),
        ("id number", order_with_customer("1"), StatusCode::BAD_REQUEST),
        ("lone surrogate", order_with_customer(r#""\ud800""#), StatusCode::BAD_REQUEST),
        ("unknown field", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","costEUR":1}]}]"#.into(), StatusCode::BAD_REQUEST),
    ];
    for (name, body, status) in cases {
        let response = app.post_orders(body).await;
        assert_eq!(response.status(), status, "{name}");
        assert_problem(response, status).await;
    }
    assert_eq!(
        app.summaries().await["summaries"].as_array().unwrap().len(),
        0
    );
}

#[tokio::test]
async fn invalid_utf8_wrong_types_and_encodings_are_refused() {
    let app = spawn_app().await;
    let invalid_utf8 = app
        .post_orders(vec![b'[', b'"', 0xff, 0xfe, b'"', b']'])
        .await;
    assert_problem(invalid_utf8, StatusCode::BAD_REQUEST).await;

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "garbage",
    ] {
        let response = app
            .client
            .post(format!("{}/orders", app.address))
            .header("content-type", content_type)
            .header("x-api-key", &app.api_key)
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }
    let missing = app
        .client
        .post(format!("{}/orders", app.address))
        .header("x-api-key", &app.api_key)
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let gzip = app
        .client
        .post(format!("{}/orders", app.address))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("x-api-key", &app.api_key)
        .body(vec![0x1f, 0x8b, 0, 0])
        .send()
        .await
        .unwrap();
    assert_problem(gzip, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let with_charset = app
        .client
        .post(format!("{}/orders", app.address))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-api-key", &app.api_key)
        .body(crate::helpers::SAMPLE)
        .send()
        .await
        .unwrap();
    assert_eq!(with_charset.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn path_tricks_and_unknown_routes_are_4xx() {
    let app = spawn_app().await;
    for (path, status) in [
        ("/customers/%00/items", StatusCode::BAD_REQUEST),
        // actix decodes invalid UTF-8 lossily: an unknown customer, not a crash.
        ("/customers/%FF/items", StatusCode::NOT_FOUND),
        (
            "/customers/..%2F..%2Fetc%2Fpasswd/items",
            StatusCode::NOT_FOUND,
        ),
        ("/customers/%2E%2E/items", StatusCode::NOT_FOUND),
        ("/customers", StatusCode::NOT_FOUND),
        ("/nothing-here", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path).await;
        assert_problem(response, status).await;
    }
    let long = format!("/customers/{}/items", "x".repeat(65));
    assert_problem(app.get(&long).await, StatusCode::BAD_REQUEST).await;
    let wrong_method = app
        .client
        .put(format!("{}/customers/summaries", app.address))
        .header("x-api-key", &app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.headers()["allow"], "GET");
    assert_problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}
