//! Fault tests of the built binary on a private MariaDB (`cargo xtask ci`): the server killed
//! (SIGKILL) in the middle of a stream of batches sent by a retrying client, and the database
//! cut under load. Nothing acknowledged is lost or duplicated, no batch is half-stored, and a
//! dependency that comes back is used again without a restart. Each test prints its counts
//! (`cargo nextest run -p order-manager-server --test e2e faults --no-capture`).
//!
//! Redis stopped under load (`redis_down_under_load_...`): bearer-token requests 503, orders
//! sent with an API key keep being accepted (the rate limiter decides locally), and sessions work
//! again without a restart. `replicas.rs` and `rate_limit_across_replicas.rs` test the same outage from the
//! sessions' and the limiter's side.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::shared::built_binary::{Running, TEST_SECRET, api_key_create, create_database, start};
use crate::shared::tcp_proxy::TcpProxy;
use testkit::redis::Redis;
use testkit::stores::{address, mysql_database_url, mysql_server_url};

const ORDERS_PER_BATCH: usize = 5;
const CUSTOMERS: usize = 7;

async fn fresh_database(prefix: &str) -> String {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    create_database(&mysql_server_url(), &name).await;
    name
}

/// Batch `k`: orders `b{k}-0..` spread over the customers, 1 to 3 items each, exact cents.
fn batch(prefix: &str, k: usize) -> (Vec<String>, Value) {
    let mut ids = Vec::new();
    let mut orders = Vec::new();
    for i in 0..ORDERS_PER_BATCH {
        let id = format!("{prefix}{k}-{i}");
        let items: Vec<Value> = (0..1 + (k + i) % 3)
            .map(|n| {
                json!({"itemId": format!("i{n}"), "costEur": cents_to_json(item_cents(k, i, n))})
            })
            .collect();
        orders.push(json!({
            "customerId": format!("c{}", (k + i) % CUSTOMERS),
            "orderId": id,
            "timestamp": (1_637_245_070_513_u64 + k as u64).to_string(),
            "items": items,
        }));
        ids.push(id);
    }
    (ids, Value::Array(orders))
}

fn item_cents(k: usize, i: usize, n: usize) -> i64 {
    ((k * 31 + i * 7 + n * 3) % 1000) as i64 + 1
}

fn cents_to_json(cents: i64) -> Value {
    serde_json::from_str(&format!("{}.{:02}", cents / 100, cents % 100)).unwrap()
}

async fn query_pairs(db: &DatabaseConnection, sql: &str) -> Vec<(String, i64, i64)> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.try_get_by_index::<String>(0).unwrap(),
                row.try_get_by_index::<i64>(1).unwrap(),
                row.try_get_by_index::<i64>(2).unwrap(),
            )
        })
        .collect()
}

/// Order id -> (items stored, cents stored), read from the database itself.
async fn stored_orders(db: &DatabaseConnection) -> HashMap<String, (i64, i64)> {
    query_pairs(
        db,
        "SELECT order_id, CAST(COUNT(*) AS SIGNED), CAST(SUM(cost_cents) AS SIGNED) \
         FROM order_items GROUP BY order_id",
    )
    .await
    .into_iter()
    .map(|(id, n, c)| (id, (n, c)))
    .collect()
}

/// Every customer's stored aggregate equals the sum recomputed from its items.
async fn assert_summaries_match_items(db: &DatabaseConnection) {
    let summaries: BTreeMap<String, (i64, i64)> = query_pairs(
        db,
        "SELECT customer_id, CAST(item_count AS SIGNED), CAST(total_cents AS SIGNED) \
         FROM customer_summaries",
    )
    .await
    .into_iter()
    .map(|(c, n, t)| (c, (n, t)))
    .collect();
    let recomputed: BTreeMap<String, (i64, i64)> = query_pairs(
        db,
        "SELECT customer_id, CAST(COUNT(*) AS SIGNED), CAST(SUM(cost_cents) AS SIGNED) \
         FROM order_items GROUP BY customer_id",
    )
    .await
    .into_iter()
    .map(|(c, n, t)| (c, (n, t)))
    .collect();
    assert_eq!(summaries, recomputed, "summaries drifted from the items");
}

/// Expected (items, cents) of every order of batch `k`.
fn expected_orders(prefix: &str, k: usize) -> Vec<(String, (i64, i64))> {
    (0..ORDERS_PER_BATCH)
        .map(|i| {
            let n = 1 + (k + i) % 3;
            let cents = (0..n).map(|n| item_cents(k, i, n)).sum();
            (format!("{prefix}{k}-{i}"), (n as i64, cents))
        })
        .collect()
}

/// Batches `0..batches` of `prefix` are each stored exactly once with their exact items, nothing
/// else is, and the summaries equal the items. Returns the orders lost (asserted to be 0).
async fn assert_batches_stored_once(url: &str, prefix: &str, batches: usize) -> usize {
    let db = Database::connect(url).await.unwrap();
    let stored = stored_orders(&db).await;
    let mut lost = 0;
    for k in 0..batches {
        for (id, expected) in expected_orders(prefix, k) {
            match stored.get(&id) {
                Some(found) => assert_eq!(*found, expected, "order {id}"),
                None => lost += 1,
            }
        }
    }
    assert_eq!(lost, 0, "acknowledged orders lost");
    assert_eq!(
        stored.len(),
        batches * ORDERS_PER_BATCH,
        "duplicated or stray orders"
    );
    assert_summaries_match_items(&db).await;
    db.close().await.ok();
    lost
}

/// `_sum` and `_count` of the server's submissions-per-transaction histogram: requests written,
/// and the write transactions that carried them.
async fn submissions_per_transaction(server: &Running) -> (f64, f64) {
    let text = reqwest::get(format!("{}/metrics", server.metrics().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("order_manager_db_submissions_per_transaction_sum "),
        value("order_manager_db_submissions_per_transaction_count "),
    )
}

fn serve(dir: &std::path::Path, url: &str, args: &[&str]) -> Running {
    start(
        dir,
        args,
        &[
            ("DATABASE_URL", url),
            ("ORDER_MANAGER_JWT_SECRET", TEST_SECRET),
            ("ORDER_MANAGER_RATE_LIMIT_RPS", "100000"),
            ("ORDER_MANAGER_RATE_LIMIT_BURST", "100000"),
        ],
    )
}

/// SIGKILL in the middle of streams of batches from eight clients at once (so that the server
/// carries concurrent submissions in shared transactions: write groups), each retrying every
/// batch until it is acknowledged; after a restart, every acknowledged order is stored exactly
/// once, no batch was ever partially stored, and the summaries equal the sums of the items.
#[tokio::test]
async fn sigkill_while_write_groups_are_in_flight_loses_and_duplicates_nothing() {
    const BATCHES: usize = 160;
    const CLIENTS: usize = 8;
    let name = fresh_database("om_kill").await;
    let url = mysql_database_url(&name);
    let dir = tempfile::tempdir().unwrap();
    // One write transaction at a time: with eight clients, requests queue and share them.
    let mut server = serve(dir.path(), &url, &["--migrate", "--write-concurrency", "1"]);
    let key = api_key_create(&[("DATABASE_URL", url.as_str())], "orders:write");

    let base = Arc::new(Mutex::new(server.base().clone()));
    let acked: Arc<Vec<AtomicBool>> =
        Arc::new((0..BATCHES).map(|_| AtomicBool::new(false)).collect());
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (base, acked, sent, failed, key) = (
                base.clone(),
                acked.clone(),
                sent.clone(),
                failed.clone(),
                key.clone(),
            );
            tokio::spawn(async move {
                let http = crate::support::client_builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let mut duplicates_reported = 0;
                for k in (client..BATCHES).step_by(CLIENTS) {
                    let (_, body) = batch("k", k);
                    loop {
                        let target = base.lock().unwrap().clone();
                        sent.fetch_add(1, Ordering::SeqCst);
                        let response = http
                            .post(format!("{target}/orders"))
                            .header("x-api-key", &key)
                            .json(&body)
                            .send()
                            .await;
                        match response {
                            Ok(r) if r.status().is_success() => {
                                let report: Value = r.json().await.unwrap();
                                duplicates_reported += report["duplicates"].as_u64().unwrap();
                                acked[k].store(true, Ordering::SeqCst);
                                break;
                            }
                            Ok(r) => {
                                assert!(
                                    r.status() == StatusCode::SERVICE_UNAVAILABLE,
                                    "batch {k}: {}",
                                    r.status()
                                );
                                failed.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(_) => {
                                failed.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                duplicates_reported
            })
        })
        .collect();
    let acked_count = || acked.iter().filter(|a| a.load(Ordering::SeqCst)).count();

    // Let part of the streams through, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked_count() < BATCHES / 4 {
        assert!(Instant::now() < deadline, "the streams did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (requests, transactions) = submissions_per_transaction(&server).await;
    assert!(
        requests > transactions,
        "no transaction carried more than one request ({requests} in {transactions})"
    );
    server.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let acked_before_kill: Vec<bool> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();

    // While it is down: every batch is stored whole or not at all.
    let db = Database::connect(&url).await.unwrap();
    let stored = stored_orders(&db).await;
    for (k, acknowledged) in acked_before_kill.iter().enumerate() {
        let expected = expected_orders("k", k);
        let present = expected
            .iter()
            .filter(|(id, _)| stored.contains_key(id))
            .count();
        assert!(
            present == 0 || present == ORDERS_PER_BATCH,
            "batch {k} is partially stored ({present} of {ORDERS_PER_BATCH})"
        );
        if *acknowledged {
            assert_eq!(present, ORDERS_PER_BATCH, "acknowledged batch {k} was lost");
        }
    }
    assert_summaries_match_items(&db).await;

    // Restart on the same database; the clients find it and carry on.
    let restarted = serve(dir.path(), &url, &[]);
    *base.lock().unwrap() = restarted.base().clone();
    let restarted_at = Instant::now();
    let mut duplicates_reported = 0;
    for client in clients {
        duplicates_reported += tokio::time::timeout(Duration::from_secs(60), client)
            .await
            .expect("a client did not finish")
            .unwrap();
    }

    let stored = stored_orders(&db).await;
    let mut lost = 0;
    let mut wrong = 0;
    for k in 0..BATCHES {
        for (id, expected) in expected_orders("k", k) {
            match stored.get(&id) {
                None => lost += 1,
                Some(found) if *found != expected => wrong += 1,
                Some(_) => {}
            }
        }
    }
    let orders_rows = query_pairs(
        &db,
        "SELECT 'orders', CAST(COUNT(*) AS SIGNED), CAST(COUNT(DISTINCT order_id) AS SIGNED) \
         FROM orders",
    )
    .await;
    let (_, rows, distinct) = orders_rows[0].clone();
    let duplicated = rows - distinct;
    assert_eq!(lost, 0, "acknowledged orders lost");
    assert_eq!(wrong, 0, "orders stored with duplicated or missing items");
    assert_eq!(duplicated, 0);
    assert_eq!(rows as usize, BATCHES * ORDERS_PER_BATCH);
    assert_summaries_match_items(&db).await;
    eprintln!(
        "fault sigkill: {CLIENTS} clients, batches {BATCHES} ({} orders), requests sent {}, \
         acknowledged {}, failed {} (connection refused or 503 while down), acknowledged \
         before the kill {} ({requests} requests in {transactions} transactions), duplicates reported to the clients after the restart \
         {duplicates_reported}, lost {lost}, duplicated {duplicated}, restart took {:?}",
        BATCHES * ORDERS_PER_BATCH,
        sent.load(Ordering::SeqCst),
        acked_count(),
        failed.load(Ordering::SeqCst),
        acked_before_kill.iter().filter(|a| **a).count(),
        restarted_at.duration_since(killed_at),
    );
    drop(restarted);
    db.close().await.ok();
}

#[derive(Debug)]
struct Outcome {
    started: Instant,
    took: Duration,
    status: Option<StatusCode>,
    retry_after: bool,
}

/// The database cut under load: requests fail fast with 503 and `Retry-After` (none hangs
/// beyond the configured timeouts, none is a 500); when it is back, the service recovers by
/// itself within seconds, and the batches that failed are stored exactly once on a retry.
// Several threads: the proxy must forward while the test blocks reading the server's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_down_under_load_fails_fast_and_recovers() {
    let name = fresh_database("om_dbdown").await;
    let proxy = TcpProxy::start(0, &address(&mysql_server_url())).await;
    let url = format!("mysql://root@127.0.0.1:{}/{name}", proxy.port);
    let direct_url = mysql_database_url(&name);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &url,
        &[
            "--migrate",
            "--db-acquire-timeout-secs",
            "1",
            "--db-operation-timeout-ms",
            "1500",
        ],
    );
    let key = api_key_create(&[("DATABASE_URL", direct_url.as_str())], "orders:write");
    // The longest a request may take while the database is down: acquire + operation + slack.
    let bound = Duration::from_millis(1000 + 1500 + 1500);

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let next_batch = Arc::new(AtomicUsize::new(0));
    let unacked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let mut workers = Vec::new();
    for worker in 0..6 {
        let (stop, outcomes, next_batch, unacked, acked, key, base) = (
            stop.clone(),
            outcomes.clone(),
            next_batch.clone(),
            unacked.clone(),
            acked.clone(),
            key.clone(),
            server.base().clone(),
        );
        workers.push(tokio::spawn(async move {
            let http = crate::support::client_builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap();
            let mut round = 0usize;
            while !stop.load(Ordering::SeqCst) {
                round += 1;
                let started = Instant::now();
                let (response, batch_no) = if (worker + round).is_multiple_of(3) {
                    let response = http
                        .get(format!("{base}/customers/summaries"))
                        .header("x-api-key", &key)
                        .send()
                        .await;
                    (response, None)
                } else {
                    let k = next_batch.fetch_add(1, Ordering::SeqCst);
                    let (_, body) = batch("d", k);
                    let response = http
                        .post(format!("{base}/orders"))
                        .header("x-api-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    (response, Some(k))
                };
                let took = started.elapsed();
                let (status, retry_after) = match &response {
                    Ok(r) => (Some(r.status()), r.headers().contains_key("retry-after")),
                    Err(_) => (None, false),
                };
                if let Some(k) = batch_no {
                    if status.is_some_and(|s| s.is_success()) {
                        acked.lock().unwrap().push(k);
                    } else {
                        unacked.lock().unwrap().push(k);
                    }
                }
                outcomes.lock().unwrap().push(Outcome {
                    started,
                    took,
                    status,
                    retry_after,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cut_at = Instant::now();
    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _restored = proxy.restore().await;
    let restored_at = Instant::now();
    // Recovery: the first success of a request started after the database came back.
    let deadline = restored_at + Duration::from_secs(20);
    let recovered_at = loop {
        let first = outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.started >= restored_at && o.status.is_some_and(|s| s.is_success()))
            .map(|o| o.started + o.took)
            .min();
        if let Some(at) = first {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within 20 s of the database coming back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }

    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let mut down_503 = 0;
    for o in &outcomes {
        let status = o
            .status
            .unwrap_or_else(|| panic!("a request failed without an answer: {o:?}"));
        assert!(
            status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
            "unexpected answer {status} ({o:?})"
        );
        assert!(o.took < bound, "a request hung for {:?}", o.took);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(o.retry_after, "503 without Retry-After");
        }
        // Started well after the cut and finished before the restore: it must have failed.
        if o.started > cut_at + Duration::from_millis(200) && o.started + o.took < restored_at {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{o:?}");
            down_503 += 1;
        }
    }
    assert!(down_503 > 0, "no request ran while the database was down");

    // The client retries what was not acknowledged; then everything is stored exactly once.
    let http = crate::support::client_builder().build().unwrap();
    let unacked = std::mem::take(&mut *unacked.lock().unwrap());
    for &k in &unacked {
        let (_, body) = batch("d", k);
        let response = http
            .post(format!("{}/orders", server.base()))
            .header("x-api-key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    let lost =
        assert_batches_stored_once(&direct_url, "d", next_batch.load(Ordering::SeqCst)).await;
    let failed = outcomes
        .iter()
        .filter(|o| o.status != Some(StatusCode::OK) && o.status != Some(StatusCode::CREATED))
        .count();
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    eprintln!(
        "fault database-down: requests sent {}, acknowledged {}, failed {failed} (all 503 with \
         Retry-After), batches retried after recovery {}, lost {lost}, duplicated 0, slowest \
         answer {slowest:?} (bound {bound:?}), recovery {:?} after the database came back \
         (down for {:?})",
        outcomes.len(),
        outcomes.len() - failed,
        unacked.len(),
        recovered_at.saturating_duration_since(restored_at),
        restored_at.duration_since(cut_at),
    );
    let _ = acked;
    drop(server);
}

/// Timeouts of zero would turn every call into an instant failure: refused when parsing.
#[test]
fn zero_timeouts_and_attempts_are_refused_at_startup() {
    for (flag, value) in [
        ("--redis-timeout-ms", "0"),
        ("--db-operation-timeout-ms", "0"),
        ("--db-transaction-attempts", "0"),
    ] {
        let output = std::process::Command::new(crate::shared::built_binary::BINARY)
            .args(["--bind", "127.0.0.1:0", flag, value])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}

/// Redis stopped under load: requests that need a session (bearer tokens, login) answer 503
/// with `Retry-After` quickly, orders sent with an API key keep being accepted (the rate limiter
/// falls back to a local one), and once Redis is back, logins work again without a restart.
/// Every acknowledged order is stored exactly once.
#[tokio::test]
async fn redis_down_under_load_keeps_api_keys_working_and_recovers() {
    let name = fresh_database("om_redisdown").await;
    let url = mysql_database_url(&name);
    let mut redis = Redis::start_plain(None).unwrap();
    let redis_url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &["--migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("REDIS_URL", redis_url.as_str()),
            ("ORDER_MANAGER_REDIS_TIMEOUT_MS", "300"),
            ("ORDER_MANAGER_JWT_SECRET", TEST_SECRET),
            ("ORDER_MANAGER_RATE_LIMIT_RPS", "100000"),
            ("ORDER_MANAGER_RATE_LIMIT_BURST", "100000"),
        ],
    );
    crate::support::user_add(dir.path(), &[("DATABASE_URL", url.as_str())]);
    let key = api_key_create(&[("DATABASE_URL", url.as_str())], "orders:write");
    let http = crate::support::client_builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let token = crate::support::token(&http, &server).await;
    // Far above the 300 ms Redis timeout: only proves that nothing hangs.
    let bound = Duration::from_secs(3);

    let stop = Arc::new(AtomicBool::new(false));
    let next_batch = Arc::new(AtomicUsize::new(0));
    let orders_out = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let bearer_out = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (stop, next_batch, orders_out, bearer_out, key, token, base, http) = (
            stop.clone(),
            next_batch.clone(),
            orders_out.clone(),
            bearer_out.clone(),
            key.clone(),
            token.clone(),
            server.base().clone(),
            http.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                // Three writers with the API key, one reader with the bearer token.
                let (response, out) = if worker == 0 {
                    let response = http
                        .get(format!("{base}/customers/summaries"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    (response, &bearer_out)
                } else {
                    let k = next_batch.fetch_add(1, Ordering::SeqCst);
                    let (_, body) = batch("r", k);
                    let response = http
                        .post(format!("{base}/orders"))
                        .header("x-api-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    (response, &orders_out)
                };
                let (status, retry_after) = match &response {
                    Ok(r) => (Some(r.status()), r.headers().contains_key("retry-after")),
                    Err(_) => (None, false),
                };
                out.lock().unwrap().push(Outcome {
                    started,
                    took: started.elapsed(),
                    status,
                    retry_after,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.kill().unwrap();
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.restart().unwrap();
    let restarted_at = Instant::now();
    // Recovery: the first login that works after Redis is back (it needs a session write).
    let recovered_at = loop {
        let response = crate::support::login(&http, &server).await;
        if response.status() == StatusCode::OK {
            break Instant::now();
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            restarted_at.elapsed() < Duration::from_secs(10),
            "logins still fail 10 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }

    let orders_out = std::mem::take(&mut *orders_out.lock().unwrap());
    let bearer_out = std::mem::take(&mut *bearer_out.lock().unwrap());
    for o in &orders_out {
        assert_eq!(
            o.status,
            Some(StatusCode::CREATED),
            "an order batch with an API key was not accepted while Redis was down: {o:?}"
        );
    }
    let mut bearer_503 = 0;
    for o in &bearer_out {
        let status = o.status.unwrap_or_else(|| panic!("no answer: {o:?}"));
        assert!(o.took < bound, "a bearer request hung for {:?}", o.took);
        // The token's session died with Redis (it keeps nothing): after the restart a 401.
        assert!(
            [
                StatusCode::OK,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::UNAUTHORIZED
            ]
            .contains(&status),
            "unexpected answer {status} ({o:?})"
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(o.retry_after, "503 without Retry-After");
            bearer_503 += 1;
        }
        if o.started > killed_at + Duration::from_millis(100) && o.started + o.took < restarted_at {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{o:?}");
        }
    }
    assert!(bearer_503 > 0, "no bearer request ran while Redis was down");
    let during_outage = orders_out
        .iter()
        .filter(|o| o.started > killed_at && o.started + o.took < restarted_at)
        .count();
    assert!(during_outage > 0, "no order batch ran while Redis was down");

    let lost = assert_batches_stored_once(&url, "r", next_batch.load(Ordering::SeqCst)).await;
    let sent = orders_out.len() + bearer_out.len();
    let failed = bearer_out
        .iter()
        .filter(|o| o.status != Some(StatusCode::OK))
        .count();
    eprintln!(
        "fault redis-down: requests sent {sent}, acknowledged {}, failed {failed} (bearer: \
         {bearer_503} x 503 with Retry-After, the rest 401 once the empty Redis forgot the \
         session); order batches with an API key {} sent, {} accepted ({during_outage} while \
         Redis was down); orders lost {lost}, duplicated 0; recovery {:?} after Redis came \
         back (down for {:?})",
        sent - failed,
        orders_out.len(),
        orders_out.len(),
        recovered_at - restarted_at,
        restarted_at - killed_at,
    );
}
