use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SAMPLE, assert_problem, order, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_sample_is_stored_and_read_back_exactly() {
    let app = spawn_app().await;
    let response = app.post_orders(SAMPLE).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "accepted": 1, "duplicates": 0})
    );

    let items = app.get("/customers/01/items").await.text().await.unwrap();
    assert_eq!(
        items,
        r#"{"items":[{"customerId":"01","itemId":"20201","costEur":2}]}"#
    );
    let summaries = app.get("/customers/summaries").await.text().await.unwrap();
    assert_eq!(
        summaries,
        r#"{"summaries":[{"customerId":"01","nbrOfPurchasedItems":1,"totalAmountEur":2}]}"#
    );
}

#[tokio::test]
async fn ten_items_of_ten_cents_make_exactly_one_euro() {
    let app = spawn_app().await;
    let response = app
        .post_json(&json!([order("01", "dimes", 10, "0.1")]))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = app.get("/customers/summaries").await.text().await.unwrap();
    assert_eq!(
        text,
        r#"{"summaries":[{"customerId":"01","nbrOfPurchasedItems":10,"totalAmountEur":1}]}"#
    );
}

#[tokio::test]
async fn amounts_keep_their_shortest_exact_form() {
    let app = spawn_app().await;
    let batch = json!([{"customerId":"c","orderId":"1","timestamp":1637245070513u64,
        "items":[{"itemId":"a","costEur":12.20},{"itemId":"b","costEur":6.3},{"itemId":"a","costEur":0}]}]);
    assert_eq!(app.post_json(&batch).await.status(), StatusCode::CREATED);
    let text = app.get("/customers/c/items").await.text().await.unwrap();
    assert_eq!(
        text,
        r#"{"items":[{"customerId":"c","itemId":"a","costEur":12.2},{"customerId":"c","itemId":"b","costEur":6.3},{"customerId":"c","itemId":"a","costEur":0}]}"#
    );
    let summaries = app.summaries().await;
    assert_eq!(
        summaries["summaries"][0]["totalAmountEur"].to_string(),
        "18.5"
    );
}

#[tokio::test]
async fn a_single_order_object_is_accepted() {
    let app = spawn_app().await;
    let response = app.post_json(&order("01", "solo", 1, "2")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn resubmitting_a_batch_stores_nothing_new_and_says_so() {
    let app = spawn_app().await;
    let batch = json!([order("01", "1", 2, "1"), order("02", "2", 1, "3")]);
    assert_eq!(app.post_json(&batch).await.status(), StatusCode::CREATED);
    let again = app.post_json(&batch).await;
    assert_eq!(again.status(), StatusCode::OK);
    let body: Value = again.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "accepted": 0, "duplicates": 2})
    );

    // A mixed batch stores only the new order.
    let mixed = json!([order("01", "1", 2, "1"), order("03", "3", 1, "1")]);
    let body: Value = app.post_json(&mixed).await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "accepted": 1, "duplicates": 1})
    );
    let summaries = app.summaries().await;
    assert_eq!(summaries["summaries"][0]["nbrOfPurchasedItems"], json!(2));
    assert_eq!(summaries["summaries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn identical_repeats_inside_one_batch_are_stored_once() {
    let app = spawn_app().await;
    let batch = json!([order("01", "1", 1, "2"), order("01", "1", 1, "2.00")]);
    let body: Value = app.post_json(&batch).await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "accepted": 1, "duplicates": 1})
    );
    assert_eq!(
        app.summaries().await["summaries"][0]["nbrOfPurchasedItems"],
        json!(1)
    );
}

#[tokio::test]
async fn a_changed_order_under_a_used_id_is_a_conflict_and_stores_nothing() {
    let app = spawn_app().await;
    app.post_json(&json!([order("01", "50", 1, "2")])).await;
    let batch = json!([order("02", "new", 1, "1"), order("01", "50", 1, "3")]);
    let problem = assert_problem(app.post_json(&batch).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["conflictingOrderIds"], json!(["50"]));
    let summaries = app.summaries().await;
    assert_eq!(
        summaries["summaries"].as_array().unwrap().len(),
        1,
        "{summaries}"
    );

    let inside = json!([order("09", "x", 1, "1"), order("09", "x", 1, "2")]);
    assert_problem(app.post_json(&inside).await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn a_batch_with_one_bad_order_stores_nothing_and_names_every_problem() {
    let app = spawn_app().await;
    let batch = json!([
        order("01", "ok", 1, "2"),
        {"customerId": "", "orderId": "bad", "timestamp": "yesterday",
         "items": [{"itemId": "a", "costEur": -1}, {"itemId": "b", "costEur": "2"}, {"costEur": 0.001}]},
        {"orderId": "no-items", "customerId": "02", "timestamp": "1637245070513", "items": []}
    ]);
    let problem = assert_problem(app.post_json(&batch).await, StatusCode::BAD_REQUEST).await;
    let places: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                e["index"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (1, "customerId"),
        (1, "timestamp"),
        (1, "items[0].costEur"),
        (1, "items[1].costEur"),
        (1, "items[2].itemId"),
        (1, "items[2].costEur"),
        (2, "items"),
    ]
    .into_iter()
    .map(|(i, f)| (i, f.to_owned()))
    .collect();
    assert_eq!(places, expected);
    assert_eq!(app.summaries().await, json!({"summaries": []}));
}

#[tokio::test]
async fn limits_answer_413_and_store_nothing() {
    let app = spawn_app_with(&[
        "--max-orders-per-batch",
        "3",
        "--max-items-per-order",
        "2",
        "--max-body-bytes",
        "2000",
    ])
    .await;
    let four: Vec<Value> = (0..4)
        .map(|n| order("01", &n.to_string(), 1, "1"))
        .collect();
    let problem = assert_problem(
        app.post_json(&Value::from(four)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("limit of 3"));

    let fat = json!([order("01", "1", 1, "1"), order("01", "2", 3, "1")]);
    assert_problem(app.post_json(&fat).await, StatusCode::PAYLOAD_TOO_LARGE).await;

    let huge = format!("[{}]", " ".repeat(5000));
    assert_problem(app.post_orders(huge).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(app.summaries().await, json!({"summaries": []}));
}

#[tokio::test]
async fn concurrent_submissions_of_one_order_store_it_once() {
    let app = spawn_app().await;
    let batch = json!([order("01", "race", 3, "1.5")]).to_string();
    let responses =
        futures_util::future::join_all((0..8).map(|_| app.post_orders(batch.clone()))).await;
    let mut accepted = 0;
    for response in responses {
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.unwrap();
        accepted += body["accepted"].as_u64().unwrap();
    }
    assert_eq!(accepted, 1);
    let summaries = app.summaries().await;
    assert_eq!(summaries["summaries"][0]["nbrOfPurchasedItems"], json!(3));
    assert_eq!(
        summaries["summaries"][0]["totalAmountEur"].to_string(),
        "4.5"
    );
}
