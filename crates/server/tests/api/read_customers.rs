use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{SAMPLE, assert_problem, order, spawn_app};

#[tokio::test]
async fn an_empty_store_has_no_summaries() {
    let app = spawn_app().await;
    let text = app.get("/customers/summaries").await.text().await.unwrap();
    assert_eq!(text, r#"{"summaries":[]}"#);
}

#[tokio::test]
async fn an_unknown_customer_is_404() {
    let app = spawn_app().await;
    app.post_orders(SAMPLE).await;
    let problem = assert_problem(app.get("/customers/1/items").await, StatusCode::NOT_FOUND).await;
    assert!(problem["detail"].as_str().unwrap().contains("`1`"));
}

#[tokio::test]
async fn items_come_in_purchase_order_and_summaries_by_customer_id() {
    let app = spawn_app().await;
    let batch = json!([
        {"customerId":"b","orderId":"late","timestamp":"1637245070999","items":[{"itemId":"3","costEur":1}]},
        {"customerId":"b","orderId":"early","timestamp":"1637245070000","items":[{"itemId":"1","costEur":1},{"itemId":"2","costEur":1}]},
        order("a", "other", 1, "5")
    ]);
    app.post_json(&batch).await;
    let items: serde_json::Value = app.get("/customers/b/items").await.json().await.unwrap();
    let ids: Vec<&str> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let summaries = app.summaries().await;
    assert_eq!(
        summaries,
        json!({"summaries":[
            {"customerId":"a","nbrOfPurchasedItems":1,"totalAmountEur":5},
            {"customerId":"b","nbrOfPurchasedItems":3,"totalAmountEur":3}
        ]})
    );
}

#[tokio::test]
async fn customer_ids_are_matched_exactly_and_percent_decoded() {
    let app = spawn_app().await;
    app.post_json(&json!([
        order("a b/ü", "1", 1, "1"),
        order("01", "2", 1, "1")
    ]))
    .await;
    assert_eq!(
        app.get("/customers/a%20b%2F%C3%BC/items").await.status(),
        StatusCode::OK
    );
    assert_problem(app.get("/customers/1/items").await, StatusCode::NOT_FOUND).await;
    assert_problem(
        app.get("/customers/01%20/items").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
