//! Reads at a fixed rate, latency corrected for coordinated omission.

use anyhow::Result;
use serde_json::json;

use super::{FRAMEWORK_CONNECTIONS, oha, phase, random_customer_items};
use crate::run::Bench;
use crate::run::http_run::round;
use crate::run::report::Report;

/// Share of the measured maximum used for the fixed-rate latency run.
const LATENCY_LOAD: f64 = 0.7;

/// Reads at a fixed rate (70% of the measured maximum), latency counted from when each request
/// was due, so a stall shows in every request it delayed (coordinated omission corrected).
pub fn latency(bench: &mut Bench, report: &mut Report, max_rate: f64) -> Result<()> {
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
