//! The measured scenarios, in the order they run: summaries on a small then a large store
//! (seeded in between), the framework ceiling, reads against the raw SELECT, latency at a fixed
//! rate, 256 connections for memory, and ingest against the raw transaction.

mod bulk;
mod framework;
mod ingest;
mod latency;
mod memory;
mod reads;
mod summaries;

use anyhow::Result;
use serde_json::{Value, json};

use super::Bench;
use super::child::bench_tool;
use super::http_run::round;
use super::oha::Oha;
use super::plan::Plan;
use super::report::Report;
use super::wrk::{Wrk, WrkLoad};

const ITEMS_PER_ORDER: u64 = 3;
/// Clients of the framework runs and the fixed-rate run.
const FRAMEWORK_CONNECTIONS: usize = 64;

pub fn run_all(bench: &mut Bench) -> Result<Report> {
    let mut report = Report::default();
    summaries::summaries(bench, &mut report)?;
    framework::framework(bench, &mut report)?;
    let max_read_rate = reads::reads(bench, &mut report)?;
    latency::latency(bench, &mut report, max_read_rate)?;
    memory::many_connections(bench, &mut report)?;
    ingest::ingest(bench, &mut report)?;
    bulk::bulk(bench, &mut report)?;
    report.set(
        "memory",
        "peak_rss_mib",
        json!(bench.rss.lifetime_peak_mib().map(round)),
    );
    Ok(report)
}

fn phase(name: &str) {
    eprintln!("order-manager-bench: {name}");
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

/// The arguments of a raw ceiling run with the service's pool and `clients` clients.
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
