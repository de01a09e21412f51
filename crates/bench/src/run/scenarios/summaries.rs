//! One page of 1000 summaries, one client, at a small and a large store.

use anyhow::Result;
use serde_json::json;

use super::{ITEMS_PER_ORDER, oha, phase, seed};
use crate::run::Bench;
use crate::run::report::Report;

/// One page of 1000 summaries, one client, at a small and a large store: the page must cost
/// the same whatever the size of the store.
pub fn summaries(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let plan = bench.plan.clone();
    let mut timings = Vec::new();
    for (label, from, to) in [
        ("small", 0, plan.small_orders),
        ("large", plan.small_orders, plan.large_orders),
    ] {
        let items = to * ITEMS_PER_ORDER;
        phase(&format!(
            "seeding {} orders ({items} items in the store)",
            to - from
        ));
        let seeded = seed(bench, from, to)?;
        report.set("seed", &format!("{label}_store"), seeded);
        phase(&format!("summaries page at {items} items"));
        let run = oha(bench, "/customers/summaries?limit=1000", 1).run()?;
        report.set(
            "summaries",
            &format!("{label}_store"),
            json!({ "items": items, "run": run.to_json() }),
        );
        report.bar(&format!("summaries page, {items} items (pages/s)"), &run);
        timings.push((items, run));
    }
    let (small_items, small) = &timings[0];
    let (large_items, large) = &timings[1];
    let ratio = large.p50_ms / small.p50_ms;
    report.ratio("summaries", "summaries_page_large_to_small_ratio", ratio);
    report.target(
        &format!("summaries page: {large_items}-item time / {small_items}-item time (p50)"),
        "at most 1.5",
        ratio,
        ratio <= 1.5,
    );
    report.rss(bench, "summaries");
    Ok(())
}
