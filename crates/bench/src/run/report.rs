//! The figures of a run as the scenarios record them: sections of report.json (ratios under
//! keys ending in `_ratio`), the chart's bars and the targets.

use serde_json::{Map, Value, json};

use super::Bench;
use super::http_run::{HttpRun, round};
use super::machine::machine;
use super::plan::Plan;

/// Every figure of a run so far.
#[derive(Debug, Default)]
pub struct Report {
    /// report.json's sections by name (`ingest`, `reads`, `memory`, ...).
    pub sections: Map<String, Value>,
    /// The chart's bars, in the order the scenarios ran.
    chart: Vec<Value>,
    /// Each target with what was measured and whether it was met.
    pub targets: Vec<Value>,
    /// `section.key` and value of every ratio, for report.md's table.
    pub ratios: Vec<(String, f64)>,
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

    /// Everything, as report.json has it.
    pub fn to_json(&self, title: &str) -> Value {
        let mut all = self.sections.clone();
        all.insert("title".into(), json!(title));
        all.insert("targets".into(), json!(self.targets));
        all.insert("chart".into(), json!(self.chart));
        Value::Object(all)
    }
}
