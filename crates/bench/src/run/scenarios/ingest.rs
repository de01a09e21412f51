//! POST /orders against the raw transaction, at both durability settings.

use anyhow::Result;
use serde_json::{Value, json};

use super::{ITEMS_PER_ORDER, ceiling_args, phase, wrk};
use crate::run::Bench;
use crate::run::child::bench_tool;
use crate::run::database;
use crate::run::http_run::{HttpRun, round};
use crate::run::report::Report;
use crate::run::server_metrics;
use crate::run::wrk::WrkLoad;

/// `innodb_flush_log_at_trx_commit` values the ingest runs are measured at: 1, durable (an
/// fsync per commit: MariaDB's default and the PXC nodes'), then 2 (commits reach the OS, not
/// the disk, as in the rest of the bench).
const DURABILITY: [u8; 2] = [1, 2];
/// How many submissions each write transaction of the server carried (write groups).
const SUBMISSIONS_PER_TRANSACTION: &str = "order_manager_db_submissions_per_transaction";

/// POST /orders with batches of 1, 10 and 100 orders of three items at rising concurrency,
/// each against the same transaction sent straight to MariaDB with the same clients and pool,
/// at both durability settings.
pub fn ingest(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let plan = bench.plan.clone();
    let mut runs = Vec::new();
    for durability in DURABILITY {
        phase(&format!(
            "ingest: innodb_flush_log_at_trx_commit={durability}"
        ));
        database::execute(
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
