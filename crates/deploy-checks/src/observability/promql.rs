//! The dashboards' Prometheus queries, checked by promtool as recording rules.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::dashboards::PanelQuery;
use crate::command::{Finished, run_logged};

/// Checks the dashboards' PromQL with promtool: each query becomes a recording rule of a
/// temporary rule file, after replacing Grafana's variables by values PromQL accepts.
pub(super) fn check_promql(promtool: &Path, queries: &[(String, PanelQuery)]) -> Result<()> {
    if queries.is_empty() {
        return Ok(());
    }
    let mut rules =
        String::from("# The dashboards' Prometheus queries, written by the dashboards check.\n");
    rules.push_str("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (index, (dashboard, query)) in queries.iter().enumerate() {
        let expr = substitute_grafana_variables(&query.expr);
        // A JSON string is a valid YAML double-quoted scalar.
        let quoted = serde_json::to_string(&expr)?;
        let _ = writeln!(
            rules,
            "      # {dashboard}: panel `{}`, query {}\n      - record: dashboard:query_{index}\n        expr: {quoted}",
            query.panel.replace('\n', " "),
            query.ref_id
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("deploy-checks-dashboard-queries-")
        .tempdir()
        .context("could not create a temporary directory")?;
    let file = dir.path().join("dashboard-queries.yml");
    fs::write(&file, &rules).with_context(|| format!("could not write {file:?}"))?;
    eprintln!(
        "deploy-checks: checking the {} Prometheus queries of the dashboards as recording rules",
        queries.len()
    );
    let mut command = Command::new(promtool);
    command.args(["check", "rules"]).arg(&file);
    let Finished {
        shown,
        status,
        text,
    } = run_logged(&mut command)?;
    if status.success() {
        return Ok(());
    }
    // promtool names a failing rule by its record name (quoted): say which panel that is.
    let failing: Vec<String> = queries
        .iter()
        .enumerate()
        .filter(|(index, _)| text.contains(&format!("\"dashboard:query_{index}\"")))
        .map(|(index, (dashboard, query))| {
            format!(
                "\n  dashboard:query_{index} is {dashboard}, panel `{}`, query {}: {}",
                query.panel, query.ref_id, query.expr
            )
        })
        .collect();
    bail!(
        "`{shown}` failed ({}): a dashboard query is not valid PromQL{}",
        status,
        failing.concat()
    )
}

/// `expr` with Grafana's variables replaced: the interval ones by `5m`, every other one (a
/// dashboard variable, used in a label matcher) by `.*`.
fn substitute_grafana_variables(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    let inner = &braced[..end];
                    (inner.split(':').next().unwrap_or(inner), end + 2)
                }
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(match name {
            "__rate_interval" | "__interval" | "__range" => "5m",
            _ => ".*",
        });
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_grafana_variables() {
        assert_eq!(
            substitute_grafana_variables(
                r#"sum(rate(x{instance=~"$instance", pod=~"${pod:regex}"}[$__rate_interval]))"#
            ),
            r#"sum(rate(x{instance=~".*", pod=~".*"}[5m]))"#
        );
        assert_eq!(substitute_grafana_variables("a $ b ${"), "a $ b ${");
    }
}
