//! oha: the fixed-rate run with coordinated-omission correction and the one-client summaries
//! page. A run with any failed request is an error, since it would measure something else.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::child::capture;
use super::http_run::HttpRun;

/// One oha run of GET requests.
#[derive(Debug, Clone)]
pub struct Oha<'a> {
    pub binary: &'a Path,
    pub url: String,
    pub api_key: &'a str,
    pub connections: usize,
    pub secs: f64,
    /// `customerId` drawn at random: the URL is a regex (`--rand-regex-url`).
    pub random_url: bool,
    /// Open loop at this many requests/s, latency measured from when each request was due.
    pub rate: Option<f64>,
}

impl Oha<'_> {
    pub fn run(&self) -> Result<HttpRun> {
        let mut command = Command::new(self.binary);
        command
            .args(["--no-tui", "--output-format", "json", "-c"])
            .arg(self.connections.to_string())
            .arg("-z")
            .arg(format!("{}ms", (self.secs * 1000.0) as u64))
            // Waiting for in-flight requests at the deadline, so none is counted as an error.
            .arg("-w");
        command
            .arg("-H")
            .arg(format!("X-API-Key: {}", self.api_key));
        if self.random_url {
            command.arg("--rand-regex-url");
        }
        if let Some(rate) = self.rate {
            command
                .arg("-q")
                .arg(format!("{rate:.0}"))
                .arg("--latency-correction");
        }
        command.arg(&self.url);
        let output = capture(&mut command, "oha")?;
        let report: Value = serde_json::from_str(&output)
            .with_context(|| format!("oha printed no JSON report: {output}"))?;
        parse_oha(&report).with_context(|| format!("unexpected oha report for {}", self.url))
    }
}

fn parse_oha(report: &Value) -> Result<HttpRun> {
    let number = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(Value::as_f64)
            .with_context(|| format!("no {pointer}"))
    };
    let statuses = report
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
        .context("no statusCodeDistribution")?;
    let mut requests = 0;
    for (status, count) in statuses {
        let count = count.as_u64().unwrap_or(0);
        if !status.starts_with('2') {
            bail!("{count} responses with status {status}");
        }
        requests += count;
    }
    let errors = report
        .get("errorDistribution")
        .and_then(Value::as_object)
        .map(|errors| errors.len())
        .unwrap_or(0);
    if errors > 0 {
        bail!("request errors: {}", report["errorDistribution"]);
    }
    let secs = number("/summary/total")?;
    Ok(HttpRun {
        requests,
        secs,
        per_s: requests as f64 / secs,
        p50_ms: number("/latencyPercentiles/p50")? * 1000.0,
        p99_ms: number("/latencyPercentiles/p99")? * 1000.0,
        p99_9_ms: number("/latencyPercentiles/p99.9")? * 1000.0,
        max_ms: number("/summary/slowest")? * 1000.0,
    })
}
