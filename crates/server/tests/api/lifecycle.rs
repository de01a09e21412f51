//! The built binary's lifecycle and logs: graceful shutdown under load, request ids in the log,
//! and no secret in any log line.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::binary::{BINARY, api_key_create_in, sigterm, start, wait_for_exit};

/// A batch of `orders` orders of `items` items each, for customer `c<n % 10>`.
fn big_batch(orders: usize, items: usize) -> String {
    let batch: Vec<Value> = (0..orders)
        .map(|n| {
            let items: Vec<Value> = (0..items)
                .map(|i| json!({"itemId": format!("sku-{i}"), "costEur": 0.5}))
                .collect();
            json!({"customerId": format!("c{}", n % 10), "orderId": format!("big-{n}"),
                   "timestamp": "1637245070513", "items": items})
        })
        .collect();
    Value::from(batch).to_string()
}

#[tokio::test]
async fn sigterm_during_a_large_batch_answers_it_and_stores_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let key = api_key_create_in(dir.path());
    let mut server = start(dir.path(), &[], &[]);
    let client = crate::helpers::client_builder().build().unwrap();

    // The body is sent in two halves, SIGTERM in between: the request is surely in flight.
    let body = big_batch(1000, 20).into_bytes();
    let (first, second) = body.split_at(body.len() / 2);
    let (first, second) = (first.to_vec(), second.to_vec());
    let (chunks, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let gate = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    chunks.send(Ok(first)).await.unwrap();
    let request = client
        .post(format!("{}/orders", server.base()))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .header("x-api-key", &key)
        .body(reqwest::Body::wrap_stream(gate))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&server);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Draining: not ready any more, but still serving.
    let ready = client
        .get(format!("{}/readyz", server.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // After the listener has closed, the rest of the in-flight body arrives.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    chunks.send(Ok(second)).await.unwrap();
    drop(chunks);
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["accepted"], 1000);
    assert!(wait_for_exit(&mut server).success());
    drop(server);

    let server = start(dir.path(), &[], &[]);
    let summaries: Value = client
        .get(format!("{}/customers/summaries", server.base()))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items: u64 = summaries["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["nbrOfPurchasedItems"].as_u64().unwrap())
        .sum();
    assert_eq!(items, 20_000);
}

#[tokio::test]
async fn access_lines_carry_the_request_id_and_no_secret_is_ever_logged() {
    let dir = tempfile::tempdir().unwrap();
    let key = api_key_create_in(dir.path());
    let password = "a-long-password-for-the-log-test";
    let mut add = Command::new(BINARY)
        .current_dir(dir.path())
        .args([
            "user",
            "add",
            "--username",
            "logger",
            "--scope",
            "customers:read",
        ])
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(add.stdin.take().unwrap(), "{password}").unwrap();
    }
    assert!(add.wait().unwrap().success());

    // The test client stands behind a trusted proxy (this machine) that names 203.0.113.7.
    let server = start(
        dir.path(),
        &[],
        &[
            ("RUST_LOG", "debug"),
            ("ORDER_MANAGER_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    );
    let client = crate::helpers::client_builder().build().unwrap();
    let response = client
        .get(format!("{}/customers/summaries", server.base()))
        .header("x-api-key", &key)
        .header("x-request-id", "e2e-log-1")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = client
        .post(format!("{}/auth/login", server.base()))
        .json(&json!({"username": "logger", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let wrong = client
        .post(format!("{}/auth/login", server.base()))
        .json(&json!({"username": "logger", "password": "wrong-password-attempt"}))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    client
        .get(format!("{}/customers/01/items", server.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = server.logs();
    let access: Vec<Value> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["message"] == "request completed")
        .collect();
    let line = access
        .iter()
        .find(|entry| entry["span"]["request_id"] == "e2e-log-1")
        .unwrap_or_else(|| panic!("no access line with the request id in {logs:#?}"));
    assert_eq!(line["route"], "/customers/summaries");
    assert_eq!(line["status"], 200);
    // The client as resolved through the trusted proxy, and the proxy it came through.
    assert_eq!(line["client_ip"], "203.0.113.7");
    assert_eq!(line["peer"], "127.0.0.1");
    assert_eq!(line["principal"], format!("key:{}", &key[..12]));
    assert!(line["latency_ms"].as_f64().is_some());
    assert!(
        access
            .iter()
            .any(|entry| entry["principal"] == "user:logger"
                && entry["route"] == "/customers/{customerId}/items"),
        "the bearer request's line names the user"
    );

    // A failed login names the client and a keyed hash of the username, not the username.
    let failed = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|entry| entry["message"] == "login failed")
        .unwrap_or_else(|| panic!("no failed-login line in {logs:#?}"));
    assert_eq!(failed["client_ip"], "203.0.113.7");
    let pseudonym = failed["username"].as_str().unwrap();
    assert!(
        pseudonym.starts_with("u:") && pseudonym.len() == 18,
        "{failed}"
    );
    assert!(!failed.to_string().contains("logger"), "{failed}");

    for secret in [
        &key[13..],
        password,
        "wrong-password-attempt",
        token.as_str(),
    ] {
        assert!(
            !logs.iter().any(|line| line.contains(secret)),
            "a secret was logged"
        );
    }
}
