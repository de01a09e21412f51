//! The process-wide budget of request-body bytes: a request that does not fit is answered 503
//! with Retry-After before its body is read, and many large bodies at once keep memory bounded.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::binary::{api_key_create_in, peak_rss_mib, start};
use crate::helpers::{SAMPLE, spawn_app_with};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_body_beyond_the_budget_is_answered_503_until_the_budget_is_free_again() {
    // Room for one 1 MiB body and half of another.
    let app = spawn_app_with(&[
        "--max-body-bytes",
        &MIB.to_string(),
        "--max-inflight-body-bytes",
        &(MIB + MIB / 2).to_string(),
    ])
    .await;
    let addr = app.address.trim_start_matches("http://").to_owned();

    // A client that declares 1 MiB and sends one byte of it: its reservation is held.
    let head = format!(
        "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: {}\r\nContent-Length: {MIB}\r\n\r\n[",
        app.api_key
    );
    let large = format!("[{}]", " ".repeat(MIB / 2 + 1));
    let mut attempts = 0;
    let (holder, answer) = loop {
        let mut holder = tokio::net::TcpStream::connect(&addr).await.unwrap();
        holder.write_all(head.as_bytes()).await.unwrap();
        // Until a large body is refused; but should a large body have been in flight when the
        // holder reserved, the holder is the one refused (answered at once): start again.
        let mut refused = None;
        for _ in 0..200 {
            let answer = app.post_orders(large.clone()).await;
            if answer.status() == StatusCode::SERVICE_UNAVAILABLE {
                refused = Some(answer);
                break;
            }
            let mut byte = [0u8; 1];
            if holder.try_read(&mut byte).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(answer) = refused {
            break (holder, answer);
        }
        attempts += 1;
        assert!(attempts < 5, "the holder never kept its reservation");
    };
    assert_eq!(answer.headers()["retry-after"], "1");
    let problem: serde_json::Value = answer.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("request bodies"),
        "{problem}"
    );

    // What still fits goes through meanwhile.
    assert_eq!(app.post_orders(SAMPLE).await.status(), StatusCode::CREATED);

    // Once the holder goes, its reservation is given back.
    drop(holder);
    let answer = wait_for(
        || app.post_orders(large.clone()),
        |status| status != StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    // Whitespace in an array: read in full, then refused as what it is.
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
}

/// Sends `request` until its status satisfies `done` (at most 10 s): the server notices a
/// closed connection or a new reservation asynchronously.
async fn wait_for<F, Fut>(request: F, done: impl Fn(StatusCode) -> bool) -> reqwest::Response
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = request().await;
        if done(answer.status()) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_budget_below_the_largest_body_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.path().join("o.db").display());
    let cli = <server::cli::Cli as clap::Parser>::try_parse_from([
        "order-manager",
        "--database-url",
        &url,
        "--max-inflight-body-bytes",
        "1000",
    ])
    .unwrap();
    let Err(error) = server::startup::Application::build(cli.serve).await else {
        panic!("a budget smaller than one body must be refused");
    };
    assert!(
        error.to_string().contains("--max-inflight-body-bytes"),
        "{error:#}"
    );
}

/// 50 clients at once send 4 MiB to the public login and 4 MiB to `/orders` (one order whose
/// customer id is almost all of it: parsed, it costs about its size again), on the built binary
/// with its defaults. Without the budget all 50 bodies would be held at once (about 250 MiB
/// more, measured); with it, at most 64 MiB of them.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_large_bodies_at_once_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[], &[]);
    let key = api_key_create_in(dir.path());
    let idle = peak_rss_mib(server.pid().unwrap());
    let client = crate::helpers::client_builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    let login = actix_web::web::Bytes::from(vec![b' '; 4 * MIB]);
    let orders = format!(r#"[{{"customerId":"{}"}}]"#, "x".repeat(4 * MIB - 20));
    assert!(orders.len() <= 4 * MIB);
    let orders = actix_web::web::Bytes::from(orders);
    let mut requests = Vec::new();
    for _ in 0..50 {
        let login = client
            .post(format!("{}/auth/login", server.base()))
            .header("content-type", "application/json")
            .body(login.clone())
            .send();
        let orders = client
            .post(format!("{}/orders", server.base()))
            .header("content-type", "application/json")
            .header("x-api-key", &key)
            .body(orders.clone())
            .send();
        requests.push(tokio::spawn(async move {
            let (login, orders) = tokio::join!(login, orders);
            (
                login.map(|r| r.status()).map_err(|e| e.to_string()),
                orders.map(|r| r.status()).map_err(|e| e.to_string()),
            )
        }));
    }
    let (mut refused, mut answered) = (0, 0);
    for request in requests {
        let (login, orders) = request.await.unwrap();
        // The server may close the connection after answering 413 before the client sent it
        // all; that is a refusal too.
        assert!(
            login
                .as_ref()
                .map_or(true, |status| *status == StatusCode::PAYLOAD_TOO_LARGE),
            "{login:?}"
        );
        match orders.unwrap() {
            StatusCode::BAD_REQUEST => answered += 1,
            StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            other => panic!("unexpected answer to the batch: {other}"),
        }
    }
    let peak = peak_rss_mib(server.pid().unwrap());
    eprintln!(
        "50 x 4 MiB logins and 50 x 4 MiB batches at once: {answered} batches answered 400, \
         {refused} refused 503; peak RSS {peak:.1} MiB ({idle:.1} MiB before)"
    );
    assert!(answered > 0, "the budget lets some through");
    // The budget's 64 MiB, the two workers' parsed copies, and the allocator's slack: measured
    // +115 MiB here, against +267 MiB with the budget lifted (and +69 MiB with 32 MiB).
    assert!(
        peak - idle < 150.0,
        "the requests took the peak RSS from {idle:.1} to {peak:.1} MiB"
    );
}
