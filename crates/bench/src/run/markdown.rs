//! report.md: every table of the report, and what the figures were measured on.

use std::fmt::Write as _;

use serde_json::Value;

use super::report::Report;

/// report.md: the report's tables, under `title`, with the chart at `chart`.
pub fn markdown(report: &Report, title: &str, chart: &str) -> String {
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
