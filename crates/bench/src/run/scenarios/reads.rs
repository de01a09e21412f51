//! Reads of random stored customers against the raw SELECT, taking turns.

use anyhow::Result;
use serde_json::{Value, json};

use super::{ceiling_args, phase, wrk};
use crate::run::Bench;
use crate::run::child::bench_tool;
use crate::run::http_run::{HttpRun, round};
use crate::run::report::Report;
use crate::run::server_metrics;
use crate::run::wrk::WrkLoad;

/// The server's histogram of first-page reads answered per statement.
const READS_PER_STATEMENT: &str = "order_manager_db_item_reads_per_statement";

/// GET /customers/{id}/items for random stored customers against the same SELECT sent
/// straight to MariaDB; returns the best service rate (for the latency run).
pub fn reads(bench: &mut Bench, report: &mut Report) -> Result<f64> {
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
