//! wrk with a Lua script (`wrk.lua`) for the closed-loop runs: POST /orders with every request
//! a new batch, GETs of random customers. A run with any failed request is an error, since it
//! would measure something else.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::child::capture;
use super::http_run::HttpRun;

/// What a wrk run sends (`wrk.lua`).
#[derive(Debug, Clone)]
pub enum WrkLoad {
    /// `POST /orders`, every request a new batch of this many orders; `run` keeps the order
    /// ids of different runs apart.
    Ingest { batch: usize, run: String },
    /// `GET /customers/{id}/items` for a random stored customer.
    Items,
    /// `GET` of one path.
    Get(String),
}

/// One closed-loop wrk run: wrk costs about half the CPU per request that oha does, and the
/// server shares the machine's cores with its load generator.
#[derive(Debug, Clone)]
pub struct Wrk<'a> {
    pub script: &'a Path,
    pub base: String,
    pub api_key: &'a str,
    pub load: WrkLoad,
    pub customers: u64,
    pub connections: usize,
    pub secs: f64,
}

impl Wrk<'_> {
    pub fn run(&self) -> Result<HttpRun> {
        let threads = self.connections.clamp(1, 2);
        let width = self.customers.saturating_sub(1).max(1).to_string().len();
        let mut command = Command::new("wrk");
        command
            .arg("-t")
            .arg(threads.to_string())
            .arg("-c")
            .arg(self.connections.to_string())
            .arg("-d")
            .arg(format!("{}s", self.secs.ceil() as u64))
            .args(["--timeout", "30s", "-s"])
            .arg(self.script)
            .arg(&self.base)
            .env("BENCH_CUSTOMERS", self.customers.to_string())
            .env("BENCH_WIDTH", width.to_string())
            .env("BENCH_API_KEY", self.api_key);
        match &self.load {
            WrkLoad::Ingest { batch, run } => command
                .env("BENCH_MODE", "ingest")
                .env("BENCH_BATCH", batch.to_string())
                .env("BENCH_RUN", run),
            WrkLoad::Items => command.env("BENCH_MODE", "items"),
            WrkLoad::Get(path) => command.env("BENCH_MODE", "get").env("BENCH_PATH", path),
        };
        let output = capture(&mut command, "wrk")?;
        let line = output
            .lines()
            .find_map(|line| line.strip_prefix("BENCH_JSON "))
            .with_context(|| format!("wrk printed no BENCH_JSON line: {output}"))?;
        let report: Value = serde_json::from_str(line)?;
        let field = |name: &str| report[name].as_u64().unwrap_or(u64::MAX);
        let failed = [
            "unexpected_status",
            "connect_errors",
            "read_errors",
            "write_errors",
            "timeouts",
        ]
        .iter()
        .map(|name| (*name, field(name)))
        .filter(|(_, count)| *count > 0)
        .collect::<Vec<_>>();
        if !failed.is_empty() {
            bail!("wrk run {:?} had failures: {failed:?}", self.load);
        }
        let secs = field("duration_us") as f64 / 1e6;
        let requests = field("requests");
        Ok(HttpRun {
            requests,
            secs,
            per_s: requests as f64 / secs,
            p50_ms: field("p50_us") as f64 / 1000.0,
            p99_ms: field("p99_us") as f64 / 1000.0,
            p99_9_ms: field("p99_9_us") as f64 / 1000.0,
            max_ms: field("max_us") as f64 / 1000.0,
        })
    }
}
