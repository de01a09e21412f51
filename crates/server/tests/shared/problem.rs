//! RFC 9457 problem answers, as both test targets check them.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// Asserts an RFC 9457 answer with the given status, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], json!(status.as_u16()));
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}
