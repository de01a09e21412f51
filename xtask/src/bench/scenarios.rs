//! The measured scenarios, in the order they run: summaries on a small then a large store
//! (seeded in between), the framework ceiling, reads against the raw SELECT, latency at a fixed
//! rate, 256 connections for memory, and ingest against the raw transaction.

use anyhow::Result;
use serde_json::{Value, json};

use super::load::{HttpRun, Oha, Wrk, WrkLoad, bench_tool, round};
use super::report::Report;
use super::server_metrics;
use super::{Bench, Plan};

const ITEMS_PER_ORDER: u64 = 3;
/// Share of the measured maximum used for the fixed-rate latency run.
const LATENCY_LOAD: f64 = 0.7;
/// Clients of the framework runs and the fixed-rate run.
const FRAMEWORK_CONNECTIONS: usize = 64;
const MANY_CONNECTIONS: usize = 256;

pub fn run_all(bench: &mut Bench) -> Result<Report> {
    let mut report = Report::default();
    summaries(bench, &mut report)?;
    framework(bench, &mut report)?;
    let max_read_rate = reads(bench, &mut report)?;
    latency(bench, &mut report, max_read_rate)?;
    many_connections(bench, &mut report)?;
    ingest(bench, &mut report)?;
    super::bulk::bulk(bench, &mut report)?;
    report.set(
        "memory",
        "peak_rss_mib",
        json!(bench.rss.lifetime_peak_mib().map(round)),
    );
    Ok(report)
}

fn phase(name: &str) {
    eprintln!("xtask: bench: {name}");
}

fn seed(bench: &Bench, from: u64, to: u64) -> Result<Value> {
    bench_tool(
        &bench.bench_tool,
        &[
            "seed".into(),
            "--database-url".into(),
            bench.database_url.clone(),
            "--customers".into(),
            bench.plan.customers.to_string(),
            "--from-order".into(),
            from.to_string(),
            "--to-order".into(),
            to.to_string(),
        ],
    )
}

fn oha<'a>(bench: &'a Bench, path: &str, connections: usize) -> Oha<'a> {
    Oha {
        binary: &bench.oha,
        url: format!("{}{path}", bench.base),
        api_key: &bench.api_key,
        connections,
        secs: bench.plan.secs,
        random_url: false,
        rate: None,
    }
}

/// `c[0-9]{width}`: a random stored customer per request.
fn random_customer_items(plan: &Plan) -> String {
    let width = plan.customers.saturating_sub(1).max(1).to_string().len();
    format!("/customers/c[0-9]{{{width}}}/items")
}

fn wrk(bench: &Bench, load: WrkLoad, connections: usize) -> Wrk<'_> {
    Wrk {
        script: &bench.lua_script,
        base: bench.base.clone(),
        api_key: &bench.api_key,
        load,
        customers: bench.plan.customers,
        connections,
        secs: bench.plan.secs,
    }
}

/// One page of 1000 summaries, one client, at a small and a large store: the page must cost
/// the same whatever the size of the store.
fn summaries(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let plan = bench.plan.clone();
    let mut timings = Vec::new();
    for (label, from, to) in [
        ("small", 0, plan.small_orders),
        ("large", plan.small_orders, plan.large_orders),
    ] {
        let items = to * ITEMS_PER_ORDER;
        phase(&format!(
            "seeding {} orders ({items} items in the store)",
            to - from
        ));
        let seeded = seed(bench, from, to)?;
        report.set("seed", &format!("{label}_store"), seeded);
        phase(&format!("summaries page at {items} items"));
        let run = oha(bench, "/customers/summaries?limit=1000", 1).run()?;
        report.set(
            "summaries",
            &format!("{label}_store"),
            json!({ "items": items, "run": run.to_json() }),
        );
        report.bar(&format!("summaries page, {items} items (pages/s)"), &run);
        timings.push((items, run));
    }
    let (small_items, small) = &timings[0];
    let (large_items, large) = &timings[1];
    let ratio = large.p50_ms / small.p50_ms;
    report.ratio("summaries", "summaries_page_large_to_small_ratio", ratio);
    report.target(
        &format!("summaries page: {large_items}-item time / {small_items}-item time (p50)"),
        "at most 1.5",
        ratio,
        ratio <= 1.5,
    );
    report.rss(bench, "summaries");
    Ok(())
}

/// What the middleware chain costs: /healthz (no authentication, no limiter, no database)
/// against an authenticated, rate-limited route that reads one summary row.
fn framework(bench: &mut Bench, report: &mut Report) -> Result<()> {
    phase("framework ceiling: /healthz");
    // The API key header is sent, and ignored: /healthz reads no credentials.
    let health = wrk(
        bench,
        WrkLoad::Get("/healthz".into()),
        FRAMEWORK_CONNECTIONS,
    )
    .run()?;
    phase("framework: authenticated, rate-limited GET /customers/summaries?limit=1");
    let summary_row = WrkLoad::Get("/customers/summaries?limit=1".into());
    let authed = wrk(bench, summary_row, FRAMEWORK_CONNECTIONS).run()?;
    report.set("framework", "healthz", health.to_json());
    report.set("framework", "authenticated_rate_limited", authed.to_json());
    report.ratio(
        "framework",
        "authenticated_to_healthz_ratio",
        authed.per_s / health.per_s,
    );
    report.bar("GET /healthz, c=64 (requests/s)", &health);
    report.bar("GET summaries?limit=1 with key + limiter, c=64", &authed);
    report.rss(bench, "framework");
    Ok(())
}

/// The server's histogram of first-page reads answered per statement.
const READS_PER_STATEMENT: &str = "order_manager_db_item_reads_per_statement";

/// GET /customers/{id}/items for random stored customers against the same SELECT sent
/// straight to MariaDB; returns the best service rate (for the latency run).
fn reads(bench: &mut Bench, report: &mut Report) -> Result<f64> {
    let plan = bench.plan.clone();
    let (mut best_service, mut best_ceiling) = (0.0_f64, 0.0_f64);
    let mut runs = Vec::new();
    for &clients in &plan.read_concurrency {
        // Service and ceiling take turns, and each keeps its best round: the machine's speed
        // drifts over minutes, and one slow spell should not decide the ratio alone.
        let mut service: Option<(HttpRun, f64, f64)> = None;
        let mut ceiling: Option<Value> = None;
        let (mut service_rounds, mut ceiling_rounds) = (Vec::new(), Vec::new());
        for round_number in 1..=plan.read_rounds {
            phase(&format!(
                "reads: service, {clients} clients (round {round_number})"
            ));
            let before = server_metrics::sum_and_count(bench.metrics_port, READS_PER_STATEMENT)?;
            let run = wrk(bench, WrkLoad::Items, clients).run()?;
            let after = server_metrics::sum_and_count(bench.metrics_port, READS_PER_STATEMENT)?;
            // The server answers concurrent first pages with one statement (see the SQL
            // adapter's first_page_reads.rs): how many requests each statement served.
            let statements = after.1 - before.1;
            let per_statement = round((after.0 - before.0) / statements.max(1.0));
            service_rounds.push(run.per_s);
            if service.as_ref().is_none_or(|best| run.per_s > best.0.per_s) {
                service = Some((run, statements, per_statement));
            }
            phase(&format!(
                "reads: raw SELECT ceiling, {clients} clients (round {round_number})"
            ));
            let raw = bench_tool(
                &bench.bench_tool,
                &ceiling_args(bench, "read-ceiling", clients),
            )?;
            let rate = raw["queries_per_s"].as_f64().unwrap_or(0.0);
            ceiling_rounds.push(rate);
            if ceiling
                .as_ref()
                .is_none_or(|best| rate > best["queries_per_s"].as_f64().unwrap_or(0.0))
            {
                ceiling = Some(raw);
            }
        }
        let (Some((service, statements, per_statement)), Some(ceiling)) = (service, ceiling) else {
            anyhow::bail!("the plan has no read rounds");
        };
        let ceiling_rate = ceiling["queries_per_s"].as_f64().unwrap_or(0.0);
        report.bar(&format!("GET items, c={clients} (requests/s)"), &service);
        report.bar_without_latency(
            &format!("raw SELECT ceiling, c={clients} (queries/s)"),
            ceiling_rate,
        );
        runs.push(json!({
            "clients": clients,
            "service": service.to_json(),
            "service_statements": statements,
            "service_requests_per_statement": per_statement,
            "service_rounds_per_s": service_rounds,
            "ceiling": ceiling,
            "ceiling_rounds_per_s": ceiling_rounds,
            "service_to_ceiling_ratio": round(service.per_s / ceiling_rate),
        }));
        best_service = best_service.max(service.per_s);
        best_ceiling = best_ceiling.max(ceiling_rate);
    }
    report.set("reads", "runs", json!(runs));
    let ratio = best_service / best_ceiling;
    report.ratio("reads", "reads_ratio", ratio);
    report.target(
        "reads: best service rate / best raw SELECT rate",
        "at least 0.7",
        ratio,
        ratio >= 0.7,
    );
    report.rss(bench, "reads");
    Ok(best_service)
}

fn ceiling_args(bench: &Bench, command: &str, clients: usize) -> Vec<String> {
    vec![
        command.into(),
        "--database-url".into(),
        bench.database_url.clone(),
        "--connections".into(),
        bench.plan.db_connections.to_string(),
        "--concurrency".into(),
        clients.to_string(),
        "--secs".into(),
        bench.plan.secs.to_string(),
        "--customers".into(),
        bench.plan.customers.to_string(),
    ]
}

/// Reads at a fixed rate (70% of the measured maximum), latency counted from when each request
/// was due, so a stall shows in every request it delayed (coordinated omission corrected).
fn latency(bench: &mut Bench, report: &mut Report, max_rate: f64) -> Result<()> {
    let rate = (max_rate * LATENCY_LOAD).max(1.0);
    phase(&format!("latency: reads at a fixed {rate:.0} requests/s"));
    let mut load = oha(
        bench,
        &random_customer_items(&bench.plan),
        FRAMEWORK_CONNECTIONS,
    );
    load.random_url = true;
    load.rate = Some(rate);
    load.secs = bench.plan.secs * 1.5;
    let run = load.run()?;
    report.set(
        "latency",
        "reads_fixed_rate",
        json!({ "target_rate_per_s": round(rate), "share_of_max": LATENCY_LOAD, "run": run.to_json() }),
    );
    report.bar(
        &format!("GET items at fixed {rate:.0}/s, corrected (requests/s)"),
        &run,
    );
    report.rss(bench, "latency");
    Ok(())
}

fn many_connections(bench: &mut Bench, report: &mut Report) -> Result<()> {
    phase(&format!(
        "memory: reads over {MANY_CONNECTIONS} connections"
    ));
    // Whatever the earlier phases peaked at is not this phase's figure.
    bench.rss.take_peak_mib();
    let run = wrk(bench, WrkLoad::Items, MANY_CONNECTIONS).run()?;
    let peak = bench.rss.take_peak_mib();
    report.set(
        "memory",
        "reads_256_connections",
        json!({ "run": run.to_json(), "peak_rss_mib": round(peak) }),
    );
    report.target(
        "server RSS at 256 connections (MiB)",
        "at most 100",
        peak,
        peak <= 100.0,
    );
    report.bar("GET items, c=256 (requests/s)", &run);
    Ok(())
}

/// `innodb_flush_log_at_trx_commit` values the ingest runs are measured at: 1, durable (an
/// fsync per commit: MariaDB's default and the PXC nodes'), then 2 (commits reach the OS, not
/// the disk, as in the rest of the bench).
const DURABILITY: [u8; 2] = [1, 2];
/// How many submissions each write transaction of the server carried (write groups).
const SUBMISSIONS_PER_TRANSACTION: &str = "order_manager_db_submissions_per_transaction";

/// POST /orders with batches of 1, 10 and 100 orders of three items at rising concurrency,
/// each against the same transaction sent straight to MariaDB with the same clients and pool,
/// at both durability settings.
fn ingest(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let plan = bench.plan.clone();
    let mut runs = Vec::new();
    for durability in DURABILITY {
        phase(&format!(
            "ingest: innodb_flush_log_at_trx_commit={durability}"
        ));
        crate::cluster::run_sql(
            &bench.server_url,
            &format!("SET GLOBAL innodb_flush_log_at_trx_commit = {durability}"),
        )?;
        for &batch in &plan.batches {
            ingest_batch(bench, report, durability, batch, &mut runs)?;
        }
    }
    report.set("ingest", "runs", json!(runs));
    report.rss(bench, "ingest");
    Ok(())
}

fn ingest_batch(
    bench: &mut Bench,
    report: &mut Report,
    durability: u8,
    batch: usize,
    runs: &mut Vec<Value>,
) -> Result<()> {
    let plan = bench.plan.clone();
    let (mut best_service, mut best_ceiling) = (0.0_f64, 0.0_f64);
    let mut best_run: Option<(usize, HttpRun)> = None;
    for &clients in &plan.ingest_concurrency {
        let run_id = format!("d{durability}b{batch}c{clients}");
        phase(&format!(
            "ingest: service, batches of {batch}, {clients} clients"
        ));
        let load = WrkLoad::Ingest {
            batch,
            run: format!("w{run_id}"),
        };
        let before =
            server_metrics::sum_and_count(bench.metrics_port, SUBMISSIONS_PER_TRANSACTION)?;
        let service = wrk(bench, load, clients).run()?;
        let after = server_metrics::sum_and_count(bench.metrics_port, SUBMISSIONS_PER_TRANSACTION)?;
        let per_transaction = round((after.0 - before.0) / (after.1 - before.1).max(1.0));
        phase(&format!(
            "ingest: raw ceiling, batches of {batch}, {clients} clients"
        ));
        let mut args = ceiling_args(bench, "ingest-ceiling", clients);
        args.extend([
            "--batch".into(),
            batch.to_string(),
            "--run".into(),
            format!("x{run_id}"),
        ]);
        let ceiling = bench_tool(&bench.bench_tool, &args)?;
        let service_orders = service.per_s * batch as f64;
        let ceiling_orders = ceiling["orders_per_s"].as_f64().unwrap_or(0.0);
        let ratio = service_orders / ceiling_orders;
        runs.push(json!({
            "durability": durability,
            "batch": batch,
            "clients": clients,
            "service": service.to_json(),
            "service_orders_per_s": round(service_orders),
            "service_items_per_s": round(service_orders * ITEMS_PER_ORDER as f64),
            "service_requests_per_transaction": per_transaction,
            "ceiling": ceiling,
            "service_to_ceiling_ratio": round(ratio),
        }));
        // Single orders are where sharing transactions pays: with durable commits, the service
        // must beat a client that commits each order on its own by 2x (at 16 and 64 clients).
        if durability == 1 && batch == 1 && clients >= 16 {
            report.target(
                &format!(
                    "ingest, single orders, {clients} clients, durable commits: service orders/s \
                     / raw one-order transactions/s"
                ),
                "at least 2",
                ratio,
                ratio >= 2.0,
            );
        }
        if service_orders > best_service {
            best_run = Some((clients, service.clone()));
        }
        best_service = best_service.max(service_orders);
        best_ceiling = best_ceiling.max(ceiling_orders);
    }
    let ratio = best_service / best_ceiling;
    let prefix = if durability == 1 { "durable_" } else { "" };
    report.ratio("ingest", &format!("{prefix}batch_{batch}_ratio"), ratio);
    if let Some((clients, run)) = best_run {
        let mut orders = run.clone();
        orders.per_s = best_service;
        report.bar(
            &format!("POST /orders, batch {batch}, c={clients}, flush={durability} (orders/s)"),
            &orders,
        );
    }
    report.bar_without_latency(
        &format!("raw ingest ceiling, batch {batch}, flush={durability} (orders/s)"),
        best_ceiling,
    );
    if batch == 100 && durability == 2 {
        report.target(
            "ingest, batches of 100: best service orders/s / best raw orders/s",
            "at least 0.8",
            ratio,
            ratio >= 0.8,
        );
    }
    Ok(())
}
