//! The server's memory with 256 connections open.

use anyhow::Result;
use serde_json::json;

use super::{phase, wrk};
use crate::run::Bench;
use crate::run::http_run::round;
use crate::run::report::Report;
use crate::run::wrk::WrkLoad;

const MANY_CONNECTIONS: usize = 256;

pub fn many_connections(bench: &mut Bench, report: &mut Report) -> Result<()> {
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
