//! The framework ceiling: what the middleware chain costs.

use anyhow::Result;

use super::phase;
use super::{FRAMEWORK_CONNECTIONS, wrk};
use crate::run::Bench;
use crate::run::report::Report;
use crate::run::wrk::WrkLoad;

/// What the middleware chain costs: /healthz (no authentication, no limiter, no database)
/// against an authenticated, rate-limited route that reads one summary row.
pub fn framework(bench: &mut Bench, report: &mut Report) -> Result<()> {
    phase("framework ceiling: /healthz");
    // The API key header is sent, and ignored: /healthz reads no credentials.
    let health = wrk(
        bench,
        WrkLoad::Get("/healthz".into()),
        FRAMEWORK_CONNECTIONS,
    )
    .run()?;
    phase("framework: authenticated, rate-limited GET /customers/summaries?limit=1");
    let summary_row = WrkLoad::Get("/customers/summaries?limit=1".into());
    let authed = wrk(bench, summary_row, FRAMEWORK_CONNECTIONS).run()?;
    report.set("framework", "healthz", health.to_json());
    report.set("framework", "authenticated_rate_limited", authed.to_json());
    report.ratio(
        "framework",
        "authenticated_to_healthz_ratio",
        authed.per_s / health.per_s,
    );
    report.bar("GET /healthz, c=64 (requests/s)", &health);
    report.bar("GET summaries?limit=1 with key + limiter, c=64", &authed);
    report.rss(bench, "framework");
    Ok(())
}
