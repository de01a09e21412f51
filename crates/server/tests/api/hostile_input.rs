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

/// More bodies: JSON syntax corners, shapes, numbers and ids. Each one is refused with a 4xx
/// problem and stores nothing.
#[tokio::test]
async fn more_hostile_bodies_are_refused() {
    let app = spawn_app().await;
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    let valid = r#"{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","costEur":1}]}"#;
    let cases: Vec<(&str, String, StatusCode)> = vec![
        ("minus infinity", order_with_cost("-Infinity"), StatusCode::BAD_REQUEST),
        ("leading zero", order_with_cost("01"), StatusCode::BAD_REQUEST),
        ("plus sign", order_with_cost("+1"), StatusCode::BAD_REQUEST),
        ("hex number", order_with_cost("0x10"), StatusCode::BAD_REQUEST),
        ("bare dot", order_with_cost(".5"), StatusCode::BAD_REQUEST),
        ("cost object", order_with_cost("{}"), StatusCode::BAD_REQUEST),
        ("cost bool", order_with_cost("true"), StatusCode::BAD_REQUEST),
        ("negative tiny", order_with_cost("-0.01"), StatusCode::BAD_REQUEST),
        ("timestamp spaces", order_with_timestamp(r#"" 1637245070513""#), StatusCode::BAD_REQUEST),
        ("timestamp empty", order_with_timestamp(r#""""#), StatusCode::BAD_REQUEST),
        ("timestamp fraction", order_with_timestamp("1.6372450705135e12"), StatusCode::BAD_REQUEST),
        ("timestamp null", order_with_timestamp("null"), StatusCode::BAD_REQUEST),
        ("empty id", order_with_customer(r#""""#), StatusCode::BAD_REQUEST),
        ("id array", order_with_customer("[]"), StatusCode::BAD_REQUEST),
        ("id tab", order_with_customer(r#""a\tb""#), StatusCode::BAD_REQUEST),
        ("id DEL", order_with_customer(r#""a\u007fb""#), StatusCode::BAD_REQUEST),
        ("id 10k chars", order_with_customer(&format!("\"{}\"", "y".repeat(10_000))), StatusCode::BAD_REQUEST),
        ("items empty", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[]}]"#.into(), StatusCode::BAD_REQUEST),
        ("items missing", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513"}]"#.into(), StatusCode::BAD_REQUEST),
        ("items null", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":null}]"#.into(), StatusCode::BAD_REQUEST),
        ("item null", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[null]}]"#.into(), StatusCode::BAD_REQUEST),
        ("orderId missing", r#"[{"customerId":"01","timestamp":"1637245070513","items":[{"itemId":"a","costEur":1}]}]"#.into(), StatusCode::BAD_REQUEST),
        ("nested duplicate key", r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","itemId":"b","costEur":1}]}]"#.into(), StatusCode::BAD_REQUEST),
        ("duplicate key case", r#"[{"customerId":"01","customerId":"02","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","costEur":1}]}]"#.into(), StatusCode::BAD_REQUEST),
        ("deep objects", deep_objects, StatusCode::BAD_REQUEST),
        ("byte order mark", format!("\u{feff}[{valid}]"), StatusCode::BAD_REQUEST),
        ("single quotes", "[{'customerId':'01'}]".into(), StatusCode::BAD_REQUEST),
        ("comment", format!("[/* hi */{valid}]"), StatusCode::BAD_REQUEST),
        ("trailing comma", format!("[{valid},]"), StatusCode::BAD_REQUEST),
        ("raw NUL", format!("[{valid}]\0"), StatusCode::BAD_REQUEST),
        ("one valid one invalid", format!("[{valid},{}]", valid.replace("\"x\"", "\"y\"").replace(":1}", ":-1}")), StatusCode::BAD_REQUEST),
        ("same id other content", format!("[{valid},{}]", valid.replace(":1}", ":2}")), StatusCode::CONFLICT),
        ("too many orders", format!("[{}]", (0..1001).map(|n| valid.replace("\"x\"", &format!("\"o{n}\""))).collect::<Vec<_>>().join(",")), StatusCode::PAYLOAD_TOO_LARGE),
        ("too many items", format!(r#"[{{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{}]}}]"#, vec![r#"{"itemId":"a","costEur":1}"#; 1001].join(",")), StatusCode::PAYLOAD_TOO_LARGE),
        ("body over the limit", format!("[{}]", " ".repeat(8 * 1024 * 1024)), StatusCode::PAYLOAD_TOO_LARGE),
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

/// Number forms that are valid JSON for an allowed amount: a documented success, stored exactly.
#[tokio::test]
async fn unusual_but_valid_amounts_are_stored_exactly() {
    let app = spawn_app().await;
    for (n, (cost, cents)) in [
        ("-0", 0),
        ("0.0", 0),
        ("1.5e1", 1500),
        ("12.30", 1230),
        ("1E2", 10000),
    ]
    .into_iter()
    .enumerate()
    {
        let body = order_with_cost(cost).replace("\"x\"", &format!("\"v{n}\""));
        let response = app.post_orders(body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{cost}");
        let items = app.get("/customers/01/items?limit=10000").await;
        let items: serde_json::Value = items.json().await.unwrap();
        let last = items["items"].as_array().unwrap().last().unwrap().clone();
        let stored = (last["costEur"].as_f64().unwrap() * 100.0).round() as i64;
        assert_eq!(stored, cents, "{cost}");
    }
}

/// Header abuse: huge, repeated or malformed credentials and forwarding chains.
#[tokio::test]
async fn header_abuse_is_refused_or_harmless() {
    let app = spawn_app().await;
    let url = format!("{}/customers/summaries", app.address);
    let huge = format!("Bearer {}", "a".repeat(60 * 1024));
    let chain = (0..2000)
        .map(|n| format!("10.0.{}.{}", n / 256, n % 256))
        .collect::<Vec<_>>()
        .join(", ");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("huge bearer", vec![("authorization", huge)]),
        (
            "garbage bearer",
            vec![("authorization", "Bearer not.a.jwt".into())],
        ),
        ("empty bearer", vec![("authorization", "Bearer ".into())]),
        (
            "basic auth",
            vec![("authorization", "Basic dXNlcjpwYXNz".into())],
        ),
        (
            "repeated authorization",
            vec![
                ("authorization", "Bearer a.b.c".into()),
                ("authorization", "Bearer d.e.f".into()),
            ],
        ),
        ("unknown api key", vec![("x-api-key", "omk_nothing".into())]),
        (
            "repeated api key",
            vec![
                ("x-api-key", app.api_key.clone()),
                ("x-api-key", "omk_other".into()),
            ],
        ),
        (
            "non-ascii api key",
            vec![("x-api-key", "omk_\u{e9}\u{ff}".into())],
        ),
    ];
    for (name, headers) in cases {
        let mut request = app.client.get(&url);
        for (key, value) in headers {
            request = request.header(key, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                assert!(status.is_client_error(), "{name}: {status}");
                if status != StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
                    assert_problem(response, status).await;
                }
            }
            // Refusing an oversized head by closing the connection is fine too.
            Err(err) => assert!(name == "huge bearer", "{name}: {err}"),
        }
    }
    // A long or malformed forwarding chain from an untrusted peer is ignored, not an error.
    for (name, value) in [
        ("long chain", chain),
        ("garbage chain", "not-an-ip, , ::::, 999.1.1.1".into()),
    ] {
        let response = app
            .client
            .get(&url)
            .header("x-api-key", &app.api_key)
            .header("x-forwarded-for", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
}

/// More encodings and content types.
#[tokio::test]
async fn other_encodings_are_refused() {
    let app = spawn_app().await;
    for (content_type, encoding, status) in [
        ("application/json", "br", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "application/json",
            "deflate",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/json",
            "gzip, identity",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "multipart/form-data; boundary=x",
            "identity",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/xml",
            "identity",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let response = app
            .client
            .post(format!("{}/orders", app.address))
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .header("x-api-key", &app.api_key)
            .body(crate::helpers::SAMPLE)
            .send()
            .await
            .unwrap();
        assert_problem(response, status).await;
    }
}

/// Path tricks in `customerId` beyond the basic ones.
#[tokio::test]
async fn more_path_tricks_are_4xx() {
    let app = spawn_app().await;
    for (path, status) in [
        ("/customers/a%00b/items", StatusCode::BAD_REQUEST),
        ("/customers/%0A/items", StatusCode::BAD_REQUEST),
        ("/customers/..%5C..%5Cwindows/items", StatusCode::NOT_FOUND),
        ("/customers/%252e%252e/items", StatusCode::NOT_FOUND),
        ("/customers/%2F/items", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path).await;
        assert_problem(response, status).await;
    }
}

/// A client that trickles its request head is cut off by the server (actix's
/// `client_request_timeout`, 5 s); one that trickles its body gets a 408 problem.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://").to_owned();

    // Slow head: a few bytes, then nothing.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"POST /orders HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a slow head was not cut off within 15 s");
    assert!(started.elapsed() < Duration::from_secs(15));
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer to a slow head: {text}"
    );

    // Slow body: the head and a little of the body, then nothing.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: {}\r\nContent-Length: 1000\r\n\r\n[",
        app.api_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "a slow body was not cut off within 30 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer to a slow body: {text}"
    );
    assert_eq!(
        app.summaries().await["summaries"].as_array().unwrap().len(),
        0
    );
}

#[tokio::test]
async fn blank_ids_and_invisible_characters_are_field_errors() {
    let app = spawn_app().await;
    for (id, expected) in [
        (r#""   ""#, "only whitespace"),
        (r#""\u3000""#, "only whitespace"),
        (r#""50\u200b""#, "U+200B"),
        (r#""\u202eabc""#, "U+202E"),
        (r#""a\ufeff""#, "U+FEFF"),
    ] {
        let problem = assert_problem(
            app.post_orders(order_with_customer(id)).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        let error = &problem["errors"][0];
        assert_eq!(error["field"], "customerId", "{id}: {problem}");
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{id}: {problem}"
        );
    }
    // Spaces inside an id are part of it, and kept exactly.
    let stored = app.post_orders(order_with_customer(r#"" 0 1 ""#)).await;
    assert_eq!(stored.status(), StatusCode::CREATED);
    assert_eq!(
        app.get("/customers/%200%201%20/items").await.status(),
        StatusCode::OK
    );
}
