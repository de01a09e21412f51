//! The cluster scenarios (`cargo xtask cluster test`): three replicas on private MariaDB and
//! Redis behind nginx (`testkit::cluster`), reached over HTTPS through nginx (and, to pin a
//! request to one replica, straight to a replica's port). Clients bind their own loopback
//! address (127.0.0.2 and up), so each is a distinct client IP for nginx and the replicas.
//! The scenarios share one cluster and run in order: each leaves it as the next expects.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use testkit::cluster::{ADMIN_PASSWORD, ADMIN_USER, Cluster, cluster_dir};
use tokio::sync::Mutex;

use crate::shared::built_binary::BINARY;
use crate::support::{client_builder, send_login};

/// Customers per load scenario.
const CUSTOMERS: usize = 12;
/// Orders per batch.
const BATCH: usize = 5;
/// Concurrent load clients, each on its own address.
const LOAD_CLIENTS: u8 = 4;
/// Per-attempt timeout of a load request: then the client resends the same batch.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per batch before it counts as failed.
const MAX_ATTEMPTS: u32 = 30;

/// Starts a cluster, runs every scenario on it, and tears it all down whatever happened.
#[test]
fn three_replicas_behind_nginx_share_sessions_and_limits_and_lose_nothing_to_restarts() -> Result<()>
{
    let started = Instant::now();
    let mut cluster = Cluster::start(Path::new(BINARY))?;
    let result = run_all(&mut cluster);
    // Stopped here rather than by Drop, to see errors; Drop covers every early return.
    let stopped = cluster.stop();
    eprintln!(
        "cluster: scenarios {} in {:.1} s (logs in {})",
        if result.is_ok() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64(),
        cluster_dir().display()
    );
    result.and(stopped)
}

fn run_all(cluster: &mut Cluster) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let step = |name: &str| eprintln!("\ncluster: scenario: {name}");
        step("sessions are shared, and logout revokes a token everywhere");
        sessions(cluster).await.context("scenario: sessions")?;
        step("one rate-limit budget across replicas, keyed by the real client IP");
        rate_limit(cluster).await.context("scenario: rate limit")?;
        step(
            "order stream with client retries while one replica is SIGKILLed and another restarted",
        );
        kill_and_restart(cluster)
            .await
            .context("scenario: kill and restart")?;
        step("rolling restart of all three replicas under steady load");
        rolling_restart(cluster)
            .await
            .context("scenario: rolling restart")?;
        cluster.check_stores()
    })
}

/// A client from 127.0.0.`host` that trusts only the cluster's CA.
fn client(cluster: &Cluster, host: u8, timeout: Duration) -> Result<Client> {
    let ca = reqwest::Certificate::from_pem(&cluster.nginx.ca_pem)?;
    Ok(client_builder()
        .tls_certs_only([ca])
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(5))
        .build()?)
}

async fn login(client: &Client, base: &str) -> Result<String> {
    let response = send_login(client, base, ADMIN_USER, ADMIN_PASSWORD).await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status == StatusCode::OK, "login on {base}: {status} {body}");
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token")
}

async fn summaries_status(client: &Client, base: &str, token: &str) -> Result<StatusCode> {
    Ok(client
        .get(format!("{base}/customers/summaries?limit=1"))
        .bearer_auth(token)
        .send()
        .await?
        .status())
}

/// (1) A token issued by one replica works on every replica and through nginx; a logout
/// through nginx ends it on all of them.
async fn sessions(cluster: &Cluster) -> Result<()> {
    let client = client(cluster, 2, Duration::from_secs(10))?;
    let issuer = &cluster.replicas[0];
    let token = login(&client, &issuer.base()).await?;
    for replica in &cluster.replicas {
        let status = summaries_status(&client, &replica.base(), &token).await?;
        ensure!(
            status == StatusCode::OK,
            "replica {}: {status}",
            replica.index
        );
    }
    for _ in 0..3 {
        let status = summaries_status(&client, &cluster.base(), &token).await?;
        ensure!(status == StatusCode::OK, "through nginx: {status}");
    }
    let logout = client
        .post(format!("{}/auth/logout", cluster.base()))
        .bearer_auth(&token)
        .send()
        .await?
        .status();
    ensure!(logout == StatusCode::NO_CONTENT, "logout: {logout}");
    for replica in &cluster.replicas {
        let status = summaries_status(&client, &replica.base(), &token).await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "replica {} after logout: {status}",
            replica.index
        );
    }
    let status = summaries_status(&client, &cluster.base(), &token).await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "nginx after logout: {status}"
    );
    eprintln!(
        "cluster:   token from replica 0 accepted by replicas 0-2 and through nginx; \
         after logout refused (401) by all"
    );
    Ok(())
}

/// A failed login attempt (the login policy allows 10 a minute per client IP, replenished
/// every 6 s: the budget only goes down during this scenario).
async fn failed_login(
    client: &Client,
    base: &str,
    forwarded_for: Option<&str>,
) -> Result<StatusCode> {
    let mut request = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "nobody", "password": "a wrong password"}));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    let response = request.send().await?;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        ensure!(
            response.headers().contains_key("retry-after"),
            "a 429 without Retry-After"
        );
    }
    Ok(status)
}

/// (2) Client A spends its login budget (10) partly through nginx, partly on each replica
/// directly: no replica alone saw 10, yet the 11th attempt is refused everywhere. Spoofing
/// `X-Forwarded-For` through nginx does not escape it, and client B (another address) still
/// has its own budget, also when it claims to be A.
async fn rate_limit(cluster: &Cluster) -> Result<()> {
    let a = client(cluster, 3, Duration::from_secs(10))?;
    let b = client(cluster, 4, Duration::from_secs(10))?;
    let nginx = cluster.base();
    let mut allowed = 0;
    for _ in 0..4 {
        let status = failed_login(&a, &nginx, None).await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "attempt {allowed} through nginx: {status}"
        );
        allowed += 1;
    }
    for replica in &cluster.replicas {
        for _ in 0..2 {
            let status = failed_login(&a, &replica.base(), None).await?;
            ensure!(
                status == StatusCode::UNAUTHORIZED,
                "attempt {allowed} on replica {}: {status}",
                replica.index
            );
            allowed += 1;
        }
    }
    for replica in &cluster.replicas {
        let status = failed_login(&a, &replica.base(), None).await?;
        ensure!(
            status == StatusCode::TOO_MANY_REQUESTS,
            "attempt 11 on replica {}: {status} (budget not shared?)",
            replica.index
        );
    }
    for _ in 0..3 {
        let status = failed_login(&a, &nginx, None).await?;
        ensure!(
            status == StatusCode::TOO_MANY_REQUESTS,
            "through nginx: {status}"
        );
    }
    for spoof in ["203.0.113.7", "127.0.0.1", "198.51.100.1, 127.0.0.4"] {
        let status = failed_login(&a, &nginx, Some(spoof)).await?;
        ensure!(
            status == StatusCode::TOO_MANY_REQUESTS,
            "X-Forwarded-For: {spoof} through nginx escaped the limit: {status}"
        );
        let status = failed_login(&a, &cluster.replicas[0].base(), Some(spoof)).await?;
        ensure!(
            status == StatusCode::TOO_MANY_REQUESTS,
            "X-Forwarded-For: {spoof} straight to a replica escaped the limit: {status}"
        );
    }
    let status = failed_login(&b, &nginx, Some("127.0.0.3")).await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "client B claiming to be A: {status}"
    );
    let status = failed_login(&b, &nginx, None).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "client B: {status}");
    eprintln!(
        "cluster:   client 127.0.0.3: {allowed} attempts allowed (4 via nginx, 2 on each replica), \
         then 429 on every replica and through nginx, also with spoofed X-Forwarded-For; \
         client 127.0.0.4 unaffected"
    );
    Ok(())
}

/// What the load clients saw.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    acknowledged: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    server_errors: AtomicU64,
    connection_errors: AtomicU64,
    timeouts: AtomicU64,
    other: AtomicU64,
    reads: AtomicU64,
}

/// An order as sent: its customer and its items' cents, in order.
#[derive(Debug, Clone)]
struct SentOrder {
    customer: String,
    cents: Vec<u64>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Every acknowledged order by id.
    acknowledged: HashMap<String, SentOrder>,
    /// Every order ever sent (acknowledged or not).
    sent: HashMap<String, SentOrder>,
}

fn amount(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A batch of orders of `prefix`; item ids are `ORDERID/N`, so that every stored item names
/// its order.
fn batch(prefix: &str, client: u8, sequence: u64) -> (String, Vec<(String, SentOrder)>) {
    let mut orders = Vec::new();
    let mut json = Vec::new();
    for slot in 0..BATCH as u64 {
        let order_id = format!("{prefix}-{client}-{sequence}-{slot}");
        let n = sequence * BATCH as u64 + slot;
        let customer = format!(
            "{prefix}-c{:02}",
            (n + u64::from(client)) % CUSTOMERS as u64
        );
        let items = 1 + (n % 3) as usize;
        let cents: Vec<u64> = (0..items as u64)
            .map(|i| (n * 7919 + i * 104_729 + u64::from(client) * 13) % 100_000)
            .collect();
        let items_json: Vec<String> = cents
            .iter()
            .enumerate()
            .map(|(i, c)| format!(r#"{{"itemId":"{order_id}/{i}","costEur":{}}}"#, amount(*c)))
            .collect();
        json.push(format!(
            r#"{{"customerId":"{customer}","orderId":"{order_id}","timestamp":"{}","items":[{}]}}"#,
            1_700_000_000_000_u64 + n,
            items_json.join(",")
        ));
        orders.push((order_id, SentOrder { customer, cents }));
    }
    (format!("[{}]", json.join(",")), orders)
}

/// One load client: sends batches through nginx until `stop`, resending a batch after a
/// timeout, a connection error, a 5xx or a 429, as a careful client would; every few batches
/// also a read of the summaries.
/// What a load client shares with the scenario.
#[derive(Debug, Clone)]
struct Shared {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    ledger: Arc<Mutex<Ledger>>,
}

async fn load_client(
    client: Client,
    base: String,
    token: String,
    prefix: &'static str,
    id: u8,
    shared: Shared,
) {
    let Shared {
        stop,
        counters,
        ledger,
    } = shared;
    let mut sequence = 0_u64;
    while !stop.load(Ordering::Relaxed) {
        let (body, orders) = batch(prefix, id, sequence);
        {
            let mut ledger = ledger.lock().await;
            for (order_id, order) in &orders {
                ledger.sent.insert(order_id.clone(), order.clone());
            }
        }
        let mut acknowledged = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                counters.retried.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            counters.sent.fetch_add(1, Ordering::Relaxed);
            let sent = client
                .post(format!("{base}/orders"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    let _ = response.bytes().await;
                    acknowledged = true;
                    break;
                }
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if status.is_server_error() {
                        counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.other.fetch_add(1, Ordering::Relaxed);
                    }
                    eprintln!("cluster:   client {id}: POST /orders answered {status}: {text}");
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        break;
                    }
                }
                Err(err) if err.is_timeout() => {
                    counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    eprintln!("cluster:   client {id}: POST /orders timed out");
                }
                Err(err) => {
                    counters.connection_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("cluster:   client {id}: POST /orders failed: {err:#}");
                }
            }
        }
        if acknowledged {
            counters.acknowledged.fetch_add(1, Ordering::Relaxed);
            let mut ledger = ledger.lock().await;
            for (order_id, order) in orders {
                ledger.acknowledged.insert(order_id, order);
            }
        } else {
            counters.failed.fetch_add(1, Ordering::Relaxed);
        }
        if sequence % 4 == 3 {
            counters.reads.fetch_add(1, Ordering::Relaxed);
            match client
                .get(format!("{base}/customers/summaries?limit=20"))
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => {
                    let _ = response.bytes().await;
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_server_error() {
                        counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.other.fetch_add(1, Ordering::Relaxed);
                    }
                    eprintln!("cluster:   client {id}: GET /customers/summaries answered {status}");
                }
                Err(err) => {
                    if err.is_timeout() {
                        counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.connection_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    eprintln!("cluster:   client {id}: GET /customers/summaries failed: {err:#}");
                }
            }
        }
        sequence += 1;
        // Steady, not flat out: well under the per-IP limits of nginx and the service.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// Load clients running in the background until [`Load::finish`].
struct Load {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    ledger: Arc<Mutex<Ledger>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    async fn start(cluster: &Cluster, prefix: &'static str, first_host: u8) -> Result<Self> {
        let admin = client(cluster, first_host, Duration::from_secs(10))?;
        let token = login(&admin, &cluster.base()).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut tasks = Vec::new();
        for id in 0..LOAD_CLIENTS {
            let client = client(cluster, first_host + id, ATTEMPT_TIMEOUT)?;
            tasks.push(tokio::spawn(load_client(
                client,
                cluster.base(),
                token.clone(),
                prefix,
                id,
                Shared {
                    stop: stop.clone(),
                    counters: counters.clone(),
                    ledger: ledger.clone(),
                },
            )));
        }
        Ok(Self {
            stop,
            counters,
            ledger,
            tasks,
        })
    }

    async fn finish(self) -> Result<(Arc<Counters>, Ledger)> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.context("a load client panicked")?;
        }
        let ledger = std::mem::take(&mut *self.ledger.lock().await);
        Ok((self.counters, ledger))
    }
}

/// Every page of a paginated collection (`key` is `items` or `summaries`).
async fn read_all(client: &Client, url: &str, token: &str, key: &str) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let limit = if key == "items" { 500 } else { 7 };
        let mut page = format!("{url}?limit={limit}");
        if let Some(cursor) = &cursor {
            page.push_str("&cursor=");
            for byte in cursor.bytes() {
                if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                    page.push(char::from(byte));
                } else {
                    page.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        let request = client.get(&page).bearer_auth(token);
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status == StatusCode::OK, "GET {url}: {status} {body}");
        rows.extend(body[key].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(rows),
        }
    }
}

/// An exact amount in cents from the JSON number (`2`, `18.5`, `12.34`).
fn cents(value: &Value) -> Result<u64> {
    let text = value.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    ensure!(
        fraction.len() <= 2,
        "amount with more than 2 decimals: {text}"
    );
    let whole: u64 = whole.parse().with_context(|| format!("amount {text}"))?;
    let fraction: u64 = format!("{fraction:0<2}")
        .parse()
        .with_context(|| format!("amount {text}"))?;
    Ok(whole * 100 + fraction)
}

/// Reads back every customer of the scenario through the API, and checks: each acknowledged
/// order's items stored exactly once, and each summary equal to the sums recomputed from the
/// items. Returns (orders lost, orders duplicated).
async fn verify(cluster: &Cluster, prefix: &str, ledger: &Ledger) -> Result<(u64, u64)> {
    let reader = client(cluster, 30, Duration::from_secs(30))?;
    let token = login(&reader, &cluster.base()).await?;
    let summaries = read_all(
        &reader,
        &format!("{}/customers/summaries", cluster.base()),
        &token,
        "summaries",
    )
    .await?;
    // itemId -> how many times stored (and its cents).
    let mut stored: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    let mut customers = 0;
    for summary in summaries.iter().filter(|s| {
        s["customerId"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("{prefix}-")))
    }) {
        let customer = summary["customerId"].as_str().unwrap_or_default();
        customers += 1;
        let items = read_all(
            &reader,
            &format!("{}/customers/{customer}/items", cluster.base()),
            &token,
            "items",
        )
        .await?;
        let mut count = 0_u64;
        let mut total = 0_u64;
        for item in &items {
            let c = cents(&item["costEur"])?;
            count += 1;
            total += c;
            let item_id = item["itemId"].as_str().unwrap_or_default().to_owned();
            stored
                .entry(item_id)
                .or_default()
                .push((c, customer.to_owned()));
        }
        let listed_count = summary["nbrOfPurchasedItems"].as_u64().unwrap_or(u64::MAX);
        let listed_total = cents(&summary["totalAmountEur"])?;
        ensure!(
            listed_count == count && listed_total == total,
            "summary of {customer}: {listed_count} items, {listed_total} cents; recomputed from \
             its items: {count}, {total}"
        );
    }
    let mut lost = 0;
    let mut duplicated = 0;
    for (order_id, order) in &ledger.acknowledged {
        let mut missing = false;
        let mut twice = false;
        for (i, c) in order.cents.iter().enumerate() {
            match stored.get(&format!("{order_id}/{i}")).map(Vec::as_slice) {
                None | Some([]) => missing = true,
                Some([(one, owner)]) => ensure!(
                    one == c && *owner == order.customer,
                    "{order_id}/{i} stored with {one} cents for {owner}, sent {c} for {}",
                    order.customer
                ),
                Some(_) => twice = true,
            }
        }
        lost += u64::from(missing);
        duplicated += u64::from(twice);
    }
    // Also orders never acknowledged (a failed batch may still have been stored): never twice.
    let stored_twice = stored.values().filter(|copies| copies.len() > 1).count();
    ensure!(
        stored_twice == 0 || duplicated > 0,
        "{stored_twice} items stored twice"
    );
    let unknown = stored
        .keys()
        .filter(|item| {
            item.rsplit_once('/')
                .is_none_or(|(order, _)| !ledger.sent.contains_key(order))
        })
        .count();
    ensure!(unknown == 0, "{unknown} stored items of orders never sent");
    eprintln!(
        "cluster:   read back {customers} customers, {} items through the API (paginated): \
         summaries equal the sums recomputed from the items",
        stored.len()
    );
    Ok((lost, duplicated))
}

fn report(name: &str, counters: &Counters, lost: u64, duplicated: u64, orders: usize) {
    let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    eprintln!(
        "cluster:   {name}: requests sent {}, acknowledged {}, retried {}, failed {}; orders \
         acknowledged {orders}, lost {lost}, duplicated {duplicated}; (5xx {}, connection errors \
         {}, timeouts {}, other answers {}, reads {})",
        get(&counters.sent),
        get(&counters.acknowledged),
        get(&counters.retried),
        get(&counters.failed),
        get(&counters.server_errors),
        get(&counters.connection_errors),
        get(&counters.timeouts),
        get(&counters.other),
        get(&counters.reads),
    );
}

/// Runs blocking process control (signals, waiting for exits and readiness) without stalling
/// the load clients on the runtime.
fn blocking<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    tokio::task::block_in_place(f)
}

/// (3) SIGKILL replica 0 and restart replica 1 (SIGTERM, start) while batches stream in with
/// client retries; then replica 0 comes back. Every acknowledged order is stored exactly once.
async fn kill_and_restart(cluster: &mut Cluster) -> Result<()> {
    let load = Load::start(cluster, "kill", 40).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    blocking(|| cluster.replicas[0].kill())?;
    eprintln!("cluster:   replica 0 SIGKILLed");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    blocking(|| cluster.replicas[1].terminate())?;
    eprintln!(
        "cluster:   replica 1 stopped by SIGTERM after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    blocking(|| cluster.replicas[1].restart())?;
    eprintln!(
        "cluster:   replica 1 back and ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    blocking(|| cluster.replicas[0].restart())?;
    eprintln!(
        "cluster:   replica 0 back and ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    cluster.write_state()?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (counters, ledger) = load.finish().await?;
    let (lost, duplicated) = verify(cluster, "kill", &ledger).await?;
    report(
        "kill and restart",
        &counters,
        lost,
        duplicated,
        ledger.acknowledged.len(),
    );
    ensure!(
        counters.acknowledged.load(Ordering::Relaxed) > 0,
        "nothing was acknowledged"
    );
    ensure!(lost == 0, "{lost} acknowledged orders lost");
    ensure!(duplicated == 0, "{duplicated} orders stored twice");
    ensure!(
        counters.failed.load(Ordering::Relaxed) == 0,
        "batches failed despite retries"
    );
    Ok(())
}

/// (4) SIGTERM each replica in turn, waiting until it is back and ready, under steady load:
/// the clients see no 5xx, no connection error and no timeout.
async fn rolling_restart(cluster: &mut Cluster) -> Result<()> {
    let load = Load::start(cluster, "roll", 50).await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let started = Instant::now();
    for index in 0..cluster.replicas.len() {
        blocking(|| cluster.replicas[index].terminate())?;
        blocking(|| cluster.replicas[index].restart())?;
        eprintln!(
            "cluster:   replica {index} restarted (SIGTERM, drained, back and ready) at {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // nginx skips a replica for fail_timeout (2 s) after it refused a connection.
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
    cluster.write_state()?;
    let (counters, ledger) = load.finish().await?;
    let (lost, duplicated) = verify(cluster, "roll", &ledger).await?;
    report(
        "rolling restart",
        &counters,
        lost,
        duplicated,
        ledger.acknowledged.len(),
    );
    let errors = counters.server_errors.load(Ordering::Relaxed)
        + counters.connection_errors.load(Ordering::Relaxed)
        + counters.timeouts.load(Ordering::Relaxed)
        + counters.other.load(Ordering::Relaxed)
        + counters.failed.load(Ordering::Relaxed)
        + counters.retried.load(Ordering::Relaxed);
    ensure!(lost == 0, "{lost} acknowledged orders lost");
    ensure!(duplicated == 0, "{duplicated} orders stored twice");
    if errors > 0 {
        bail!("the clients saw errors during the rolling restart (see the counts above)");
    }
    Ok(())
}
