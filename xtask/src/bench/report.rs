//! report.json (every figure; ratios under keys ending in `_ratio`), report.md (the same as
//! tables), the chart (drawn by `order-manager-bench chart`), and for a full run
//! docs/benchmarks.md with the machine's description.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::load::{HttpRun, capture, round};
use super::{Bench, Plan};
use crate::cargo::workspace_root;

#[derive(Debug, Default)]
pub struct Report {
    sections: Map<String, Value>,
    chart: Vec<Value>,
    targets: Vec<Value>,
    ratios: Vec<(String, f64)>,
}

impl Report {
    pub fn set(&mut self, section: &str, key: &str, value: Value) {
        let entry = self
            .sections
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(key.to_owned(), value);
        }
    }

    pub fn ratio(&mut self, section: &str, key: &str, value: f64) {
        self.set(section, key, json!(round(value)));
        self.ratios.push((format!("{section}.{key}"), round(value)));
    }

    pub fn bar(&mut self, scenario: &str, run: &HttpRun) {
        self.chart.push(json!({
            "scenario": scenario,
            "per_s": round(run.per_s),
            "p99_ms": round(run.p99_ms),
        }));
    }

    pub fn bar_without_latency(&mut self, scenario: &str, per_s: f64) {
        self.chart
            .push(json!({ "scenario": scenario, "per_s": round(per_s), "p99_ms": null }));
    }

    pub fn target(&mut self, name: &str, target: &str, measured: f64, met: bool) {
        self.targets.push(json!({
            "name": name,
            "target": target,
            "measured": round(measured),
            "met": met,
        }));
    }

    /// The server's highest RSS during the phase that just ended.
    pub fn rss(&mut self, bench: &Bench, phase: &str) {
        let peak = bench.rss.take_peak_mib();
        self.set(
            "memory",
            &format!("{phase}_peak_rss_mib"),
            json!(round(peak)),
        );
    }

    pub fn finish(&mut self, plan: &Plan, mariadb_version: &str, secs: f64) {
        let plan_json = json!({
            "quick": plan.quick,
            "debug_build": plan.debug_build,
            "customers": plan.customers,
            "small_store_items": plan.small_orders * 3,
            "large_store_items": plan.large_orders * 3,
            "secs_per_run": plan.secs,
            "ingest_concurrency": plan.ingest_concurrency,
            "batches": plan.batches,
            "read_concurrency": plan.read_concurrency,
            "read_rounds": plan.read_rounds,
            "db_connections": plan.db_connections,
        });
        self.sections.insert("plan".into(), plan_json);
        self.sections
            .insert("machine".into(), machine(mariadb_version));
        self.sections
            .insert("duration_secs".into(), json!(round(secs)));
    }

    fn to_json(&self, title: &str) -> Value {
        let mut all = self.sections.clone();
        all.insert("title".into(), json!(title));
        all.insert("targets".into(), json!(self.targets));
        all.insert("chart".into(), json!(self.chart));
        Value::Object(all)
    }
}

fn title(plan: &Plan) -> String {
    let mut notes = Vec::new();
    if plan.quick {
        notes.push("--quick smoke run");
    }
    if plan.debug_build {
        notes.push("debug build");
    }
    if notes.is_empty() {
        "order-manager benchmark".to_owned()
    } else {
        format!("order-manager benchmark ({})", notes.join(", "))
    }
}

/// Writes the report files; the full run of the release build also rewrites the docs page.
pub fn write(report: &Report, out_dir: &Path, tool: &Path, plan: &Plan) -> Result<()> {
    let title = title(plan);
    let full = !plan.quick && !plan.debug_build;
    let json_path = out_dir.join("report.json");
    fs::write(
        &json_path,
        serde_json::to_string_pretty(&report.to_json(&title))? + "\n",
    )
    .with_context(|| format!("cannot write {}", json_path.display()))?;
    let chart = out_dir.join("chart.svg");
    capture(
        Command::new(tool)
            .arg("chart")
            .arg("--report")
            .arg(&json_path)
            .arg("--out")
            .arg(&chart),
        "order-manager-bench chart",
    )?;
    fs::write(
        out_dir.join("report.md"),
        markdown(report, &title, "chart.svg"),
    )?;
    if full {
        let docs = workspace_root().join("docs");
        fs::copy(&chart, docs.join("benchmarks.svg"))?;
        fs::copy(&json_path, docs.join("benchmarks.json"))?;
        let page = format!(
            "{}\n{}",
            include_str!("benchmarks_intro.md"),
            // One level down, under the page's own title.
            markdown(report, &title, "benchmarks.svg")
                .lines()
                .map(|line| if line.starts_with('#') {
                    format!("#{line}")
                } else {
                    line.to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n")
        );
        fs::write(docs.join("benchmarks.md"), page)?;
    }
    Ok(())
}

fn markdown(report: &Report, title: &str, chart: &str) -> String {
    let s = &report.sections;
    let mut md = format!("# {title}\n\n![throughput and p99 per scenario]({chart})\n\n");
    md += "## Targets\n\n| target | wanted | measured | met |\n|---|---|---|---|\n";
    for t in &report.targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t["name"].as_str().unwrap_or(""),
            t["target"].as_str().unwrap_or(""),
            t["measured"],
            if t["met"].as_bool() == Some(true) {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    md += "\n## Ratios (report.json keys)\n\n| key | value |\n|---|---|\n";
    for (key, value) in &report.ratios {
        let _ = writeln!(md, "| `{key}` | {value} |");
    }

    md += "\n## Ingest: POST /orders (3 items per order) vs the raw transaction\n\n\
           | flush | batch | clients | requests/s | orders/s | items/s | p50 ms | p99 ms | requests per transaction | raw orders/s | ratio |\n\
           |---|---|---|---|---|---|---|---|---|---|---|\n";
    for run in s["ingest"]["runs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run["durability"],
            run["batch"],
            run["clients"],
            run["service"]["requests_per_s"],
            run["service_orders_per_s"],
            run["service_items_per_s"],
            run["service"]["p50_ms"],
            run["service"]["p99_ms"],
            run["service_requests_per_transaction"],
            fixed(&run["ceiling"]["orders_per_s"]),
            run["service_to_ceiling_ratio"],
        );
    }
    md += "\n`flush` is MariaDB's `innodb_flush_log_at_trx_commit`: 1 syncs the log to disk at \
           every commit (durable; the default, and what the PXC nodes run), 2 leaves it to the \
           OS. The raw ceiling commits each batch in a transaction of its own: at batch 1, one \
           order per transaction. The service carries concurrent submissions in shared \
           transactions (write groups): `requests per transaction` is how many on average.\n";
    md += "\nLatencies of the ingest runs are closed-loop (wrk).\n";

    let import = &s["bulk"]["import"];
    let export = &s["bulk"]["export"];
    md += "\n## Bulk: `order-manager import` (NDJSON, 3 items per order) vs the raw transactions, and `export items`\n\n\
           | items | seconds | orders/s | items/s | peak RSS MiB | raw orders/s | ratio |\n\
           |---|---|---|---|---|---|---|\n";
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {} | {} | {} |",
        import["file"]["items"],
        import["secs"],
        import["orders_per_s"],
        import["items_per_s"],
        import["peak_rss_mib"],
        fixed(&import["ceiling"]["orders_per_s"]),
        s["bulk"]["import_ratio"],
    );
    let _ = writeln!(
        md,
        "\nThe raw ceiling writes the same orders with the service's statements, 1000 orders a \
         transaction, two transactions at once as the import has them, built before its clock \
         starts. Each run writes into an empty database of its own; import and ceiling take \
         turns and each keeps its best round. `export items` (CSV) of the whole bench store: \
         {} rows in {} s, {} rows/s.",
        export["rows"], export["secs"], export["rows_per_s"]
    );

    md += "\n## Reads: GET /customers/{id}/items (random stored customers) vs the raw SELECT\n\n\
           | clients | requests/s | p50 ms | p99 ms | requests per statement | raw queries/s | ratio |\n\
           |---|---|---|---|---|---|---|\n";
    for run in s["reads"]["runs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            run["clients"],
            run["service"]["requests_per_s"],
            run["service"]["p50_ms"],
            run["service"]["p99_ms"],
            run["service_requests_per_statement"],
            fixed(&run["ceiling"]["queries_per_s"]),
            run["service_to_ceiling_ratio"],
        );
    }
    md += "\nService and ceiling take turns (`read_rounds` each) and each side's best round is \
           shown. The service answers concurrent first pages with one statement (`UNION ALL` of \
           the customers' `SELECT ... LIMIT`s); the raw ceiling sends one `SELECT` per query.\n";

    md += "\n## Summaries: one page of 1000, one client\n\n\
           | items in the store | pages/s | p50 ms | p99 ms |\n|---|---|---|---|\n";
    for store in ["small_store", "large_store"] {
        let entry = &s["summaries"][store];
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            entry["items"],
            entry["run"]["requests_per_s"],
            entry["run"]["p50_ms"],
            entry["run"]["p99_ms"],
        );
    }

    md += "\n## Framework ceiling (64 clients)\n\n| route | requests/s | p50 ms | p99 ms |\n|---|---|---|---|\n";
    for (name, key) in [
        ("GET /healthz (no auth, no limiter, no database)", "healthz"),
        (
            "GET /customers/summaries?limit=1 (API key, Redis limiter, one row)",
            "authenticated_rate_limited",
        ),
    ] {
        let run = &s["framework"][key];
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            run["requests_per_s"], run["p50_ms"], run["p99_ms"]
        );
    }

    let fixed_rate = &s["latency"]["reads_fixed_rate"];
    md += "\n## Latency at a fixed rate (open loop, coordinated omission corrected)\n\n\
           | route | rate/s | p50 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|\n";
    let _ = writeln!(
        md,
        "| GET /customers/{{id}}/items, {}% of the best measured rate | {} | {} | {} | {} | {} |",
        (fixed_rate["share_of_max"].as_f64().unwrap_or(0.0) * 100.0).round(),
        fixed_rate["target_rate_per_s"],
        fixed_rate["run"]["p50_ms"],
        fixed_rate["run"]["p99_ms"],
        fixed_rate["run"]["p99_9_ms"],
        fixed_rate["run"]["max_ms"],
    );

    md += "\n## Server memory (RSS, MiB)\n\n| phase | peak |\n|---|---|\n";
    if let Some(memory) = s.get("memory").and_then(Value::as_object) {
        for (key, value) in memory {
            let value = value
                .get("peak_rss_mib")
                .cloned()
                .unwrap_or_else(|| value.clone());
            let _ = writeln!(md, "| {key} | {value} |");
        }
    }

    md += "\n## Run\n\n";
    let _ = writeln!(md, "- plan: `{}`", s["plan"]);
    let m = &s["machine"];
    let _ = writeln!(
        md,
        "- machine: {} ({} CPUs), {} GiB of memory, Linux {}, {}, MariaDB {}, wrk {}; the load \
         generators, the server, MariaDB and Redis all share these CPUs",
        m["cpu"].as_str().unwrap_or("?"),
        m["cpus"],
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or("?"),
        m["rustc"].as_str().unwrap_or("?"),
        m["mariadb"].as_str().unwrap_or("?"),
        m["wrk"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(md, "- seeding: `{}`", s["seed"]);
    let _ = writeln!(md, "- whole run: {} s", s["duration_secs"]);
    md
}

fn fixed(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| value.to_string(), |v| format!("{v:.1}"))
}

/// What the figures were measured on.
fn machine(mariadb_version: &str) -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| round(kib / 1024.0 / 1024.0));
    json!({
        "cpu": model,
        "cpus": std::thread::available_parallelism().map(usize::from).ok(),
        "memory_gib": memory_gib,
        "kernel": command_line("uname", &["-r"]),
        "rustc": command_line("rustc", &["--version"]),
        "mariadb": mariadb_version,
        "wrk": command_line("wrk", &["--version"]).and_then(|v| v.split(' ').nth(1).map(str::to_owned)),
    })
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(|line| line.trim().to_owned())
}
