use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, order, spawn_app};

/// Follows `Link: rel="next"` headers and checks that they agree with `next_cursor`.
async fn walk(app: &TestApp, first: &str, key: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        pages += 1;
        rows.extend(body[key].as_array().unwrap().iter().cloned());
        match (&link, body.get("next_cursor")) {
            (Some(link), Some(cursor)) => {
                assert!(link.ends_with(r#">; rel="next""#), "{link}");
                assert!(link.contains(cursor.as_str().unwrap()));
                next = Some(
                    link.trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap()
                        .to_owned(),
                );
            }
            (None, None) => {}
            other => panic!("Link header and next_cursor disagree: {other:?}"),
        }
    }
    (rows, pages)
}

#[tokio::test]
async fn summaries_and_items_are_paginated_by_cursor() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..5)
        .map(|n| order(&format!("c{n}"), &format!("o{n}"), 1, "1"))
        .collect();
    app.post_json(&Value::from(batch)).await;
    app.post_json(&json!([order("c0", "big", 7, "0.5")])).await;

    let (summaries, pages) = walk(&app, "/customers/summaries?limit=2", "summaries").await;
    let ids: Vec<&str> = summaries
        .iter()
        .map(|s| s["customerId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(pages, 3);

    let (items, pages) = walk(&app, "/customers/c0/items?limit=3", "items").await;
    assert_eq!(items.len(), 8);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn bad_page_parameters_are_400() {
    let app = spawn_app().await;
    app.post_json(&json!([order("01", "1", 1, "1")])).await;
    for path in [
        "/customers/summaries?limit=0",
        "/customers/summaries?limit=10001",
        "/customers/summaries?limit=abc",
        "/customers/summaries?limit=-1",
        "/customers/summaries?cursor=garbage",
        "/customers/summaries?limit=1&limit=2",
        "/customers/01/items?cursor=%00",
        "/customers/01/items?limit=99999999999999999999999",
    ] {
        assert_problem(app.get(path).await, StatusCode::BAD_REQUEST).await;
    }
    // A summaries cursor is not an items cursor.
    let body: Value = app
        .get("/customers/summaries?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("next_cursor").is_none());
}
