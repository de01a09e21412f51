//! The load generators: wrk with a Lua script for the closed-loop runs (POST /orders with every
//! request a new batch, GETs of random customers), oha for the fixed-rate run with
//! coordinated-omission correction and the one-client summaries page, and the raw ceilings of
//! `order-manager-bench`. Each run returns its figures; a run with any failed request is an
//! error, since it would measure something else.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// What one HTTP load run measured.
#[derive(Debug, Clone)]
pub struct HttpRun {
    pub requests: u64,
    pub secs: f64,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p99_9_ms: f64,
    pub max_ms: f64,
}

impl HttpRun {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "requests": self.requests,
            "secs": round(self.secs),
            "requests_per_s": round(self.per_s),
            "p50_ms": round(self.p50_ms),
            "p99_ms": round(self.p99_ms),
            "p99_9_ms": round(self.p99_9_ms),
            "max_ms": round(self.max_ms),
        })
    }
}

pub fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

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

/// `order-manager-bench <args>`: one JSON object.
pub fn bench_tool(binary: &PathBuf, args: &[String]) -> Result<Value> {
    let output = capture(Command::new(binary).args(args), "order-manager-bench")?;
    serde_json::from_str(output.trim())
        .with_context(|| format!("order-manager-bench printed no JSON: {output}"))
}

/// Runs to completion and returns stdout; stderr is passed through.
pub fn capture(command: &mut Command, name: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not run {name}"))?;
    if !output.status.success() {
        bail!(
            "{name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
