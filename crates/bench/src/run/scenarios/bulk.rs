//! `order-manager import` of a generated 1M-item NDJSON file (333,334 orders; 10,000 in a
//! quick run) against the raw ceiling of the same orders in the same transactions, each in an
//! empty database of its own, with the import's peak RSS; then `order-manager export items` of
//! the whole bench store, in rows/s.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::run::Bench;
use crate::run::child::{admin, bench_tool};
use crate::run::database::create_database;
use crate::run::http_run::round;
use crate::run::report::Report;
use crate::run::rss::RssSampler;

/// `order-manager import`'s transaction: the submit limit of 1000 orders (3,000 items, under
/// the import's 5,000-item chunk).
const CHUNK_ORDERS: u64 = 1000;
const ITEMS_PER_ORDER: u64 = 3;
/// Transactions in flight, as `order-manager import` has them (its `pipeline::IN_FLIGHT`).
const IN_FLIGHT: usize = 2;

pub fn bulk(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let orders: u64 = if bench.plan.quick { 10_000 } else { 333_334 };
    let dir = bench
        .server_binary
        .parent()
        .map(std::path::Path::to_path_buf);
    let file = dir
        .unwrap_or_default()
        .join(format!("bench-import-{orders}.ndjson"));
    let mut args = vec!["import-file".to_owned()];
    args.extend(the_orders(bench, orders));
    args.extend(["--out".into(), file.display().to_string()]);
    let generated = bench_tool(&bench.bench_tool, &args)?;
    // Each run writes into an empty database of its own, and the two take turns (whichever
    // runs second finds MariaDB still busy with the first one's writes); each keeps its best.
    let rounds = if bench.plan.quick { 1 } else { 2 };
    let (mut secs, mut peak_rss_mib, mut ceiling) = (f64::INFINITY, 0.0_f64, json!(null));
    let mut ceiling_orders_per_s = 0.0_f64;
    for round in 0..rounds {
        for ceiling_now in [round % 2 == 1, round % 2 == 0] {
            let database = fresh_database(bench, &format!("bulk_{round}_{ceiling_now}"))?;
            if ceiling_now {
                eprintln!(
                    "order-manager-bench: import raw ceiling, round {}",
                    round + 1
                );
                let run = import_ceiling(bench, &database, orders)?;
                let per_s = run["orders_per_s"].as_f64().unwrap_or(0.0);
                if per_s > ceiling_orders_per_s {
                    ceiling_orders_per_s = per_s;
                    ceiling = run;
                }
            } else {
                eprintln!(
                    "order-manager-bench: import of {orders} orders ({} items), round {}",
                    orders * ITEMS_PER_ORDER,
                    round + 1
                );
                let (run_secs, run_rss) = import(bench, &database, &file, orders)?;
                secs = secs.min(run_secs);
                peak_rss_mib = peak_rss_mib.max(run_rss);
            }
        }
    }
    std::fs::remove_file(&file).ok();
    let import_orders_per_s = orders as f64 / secs;
    let ratio = import_orders_per_s / ceiling_orders_per_s;
    report.set(
        "bulk",
        "import",
        json!({
            "file": generated,
            "secs": round(secs),
            "orders_per_s": round(import_orders_per_s),
            "items_per_s": round(import_orders_per_s * ITEMS_PER_ORDER as f64),
            "peak_rss_mib": round(peak_rss_mib),
            "rounds": rounds,
            "ceiling": ceiling,
        }),
    );
    report.ratio("bulk", "import_ratio", ratio);
    report.bar_without_latency("order-manager import (orders/s)", import_orders_per_s);
    report.bar_without_latency("raw import ceiling (orders/s)", ceiling_orders_per_s);
    report.target(
        "import of 1M items: orders/s / raw multi-row INSERT orders/s",
        "at least 0.8",
        ratio,
        ratio >= 0.8,
    );
    report.target(
        "import of 1M items: peak RSS of order-manager import (MiB)",
        "under 100",
        peak_rss_mib,
        peak_rss_mib < 100.0,
    );

    eprintln!("order-manager-bench: export of every item");
    let started = Instant::now();
    let output = Command::new(&bench.server_binary)
        .args(["export", "items", "--format", "csv"])
        .env("DATABASE_URL", &bench.database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run order-manager export")?;
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rows: u64 = stderr
        .split_whitespace()
        .skip_while(|word| *word != "exported")
        .nth(1)
        .and_then(|count| count.parse().ok())
        .filter(|_| output.status.success())
        .with_context(|| format!("order-manager export failed ({}): {stderr}", output.status))?;
    report.set(
        "bulk",
        "export",
        json!({ "rows": rows, "secs": round(secs), "rows_per_s": round(rows as f64 / secs) }),
    );
    report.bar_without_latency("order-manager export items (rows/s)", rows as f64 / secs);
    Ok(())
}

/// An empty, migrated database on the bench's MariaDB; its URL.
fn fresh_database(bench: &Bench, name: &str) -> Result<String> {
    let server = bench
        .database_url
        .rsplit_once('/')
        .map_or(bench.database_url.as_str(), |(server, _)| server);
    let url = create_database(server, name)?;
    admin(&bench.server_binary, &url, &["migrate"])?;
    Ok(url)
}

/// `order-manager import` of `file`: its seconds and peak RSS (MiB).
fn import(bench: &Bench, database: &str, file: &Path, orders: u64) -> Result<(f64, f64)> {
    let started = Instant::now();
    let child = Command::new(&bench.server_binary)
        .arg("import")
        .arg(file)
        .env("DATABASE_URL", database)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run order-manager import")?;
    let rss = RssSampler::start(child.id());
    let output = child
        .wait_with_output()
        .context("cannot wait for order-manager import")?;
    let secs = started.elapsed().as_secs_f64();
    let peak_rss_mib = rss.take_peak_mib();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || !stderr.contains(&format!("stored {orders} (")) {
        bail!("order-manager import failed ({}): {stderr}", output.status);
    }
    Ok((secs, peak_rss_mib))
}

/// The same orders with the service's statements, as many transactions at once as the import.
fn import_ceiling(bench: &Bench, database: &str, orders: u64) -> Result<serde_json::Value> {
    let mut args = vec![
        "import-ceiling".to_owned(),
        "--database-url".into(),
        database.to_owned(),
    ];
    args.extend(the_orders(bench, orders));
    args.extend([
        "--chunk-orders".into(),
        CHUNK_ORDERS.to_string(),
        "--in-flight".into(),
        IN_FLIGHT.to_string(),
    ]);
    bench_tool(&bench.bench_tool, &args)
}

/// The orders of the file and of the ceiling, the same ones: how many, their customers and the
/// prefix of their ids.
fn the_orders(bench: &Bench, orders: u64) -> [String; 6] {
    [
        "--orders".into(),
        orders.to_string(),
        "--customers".into(),
        bench.plan.customers.to_string(),
        "--prefix".into(),
        "imp".into(),
    ]
}
