//! The Grafana dashboards: valid JSON, every datasource a provisioned one, every panel a
//! query; their PromQL goes to [`super::promql`].

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::datasources::{Datasource, provisioned_datasources};
use super::promql::check_promql;
use super::{
    BUILTIN_DATASOURCE_UIDS, GRAFANA_DASHBOARDS, GRAFANA_DATASOURCES, PANELS_WITHOUT_QUERIES,
    promtool,
};
use crate::repo_root;

/// A Prometheus query of a dashboard panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PanelQuery {
    pub(super) panel: String,
    pub(super) ref_id: String,
    pub(super) expr: String,
}

/// Checks every `*.json` under the dashboards directory against the provisioned datasources,
/// then their Prometheus queries with promtool.
pub fn check_dashboards() -> Result<()> {
    let promtool = promtool()?;
    let root = repo_root();
    let provisioning = fs::read_to_string(root.join(GRAFANA_DATASOURCES))
        .with_context(|| format!("could not read {GRAFANA_DATASOURCES}"))?;
    let datasources = provisioned_datasources(&provisioning)
        .with_context(|| format!("in {GRAFANA_DATASOURCES}"))?;
    let mut paths: Vec<PathBuf> = fs::read_dir(root.join(GRAFANA_DASHBOARDS))
        .with_context(|| format!("could not list {GRAFANA_DASHBOARDS}"))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    paths.sort();
    if paths.is_empty() {
        bail!("no dashboard (*.json) in {GRAFANA_DASHBOARDS}");
    }
    let mut queries = Vec::new();
    for path in &paths {
        let shown = path.strip_prefix(&root).unwrap_or(path).display();
        let text = fs::read_to_string(path).with_context(|| format!("could not read {shown}"))?;
        let dashboard: Value =
            serde_json::from_str(&text).with_context(|| format!("{shown} is not valid JSON"))?;
        let checked = check_dashboard(&dashboard, &datasources);
        if !checked.problems.is_empty() {
            bail!(
                "{shown}:\n  - {}\nprovisioned datasources ({GRAFANA_DATASOURCES}): {}",
                checked.problems.join("\n  - "),
                datasources
                    .iter()
                    .map(|ds| format!("uid `{}` ({})", ds.uid, ds.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        eprintln!(
            "deploy-checks: {shown}: {} panels, every datasource provisioned",
            checked.panels
        );
        queries.extend(
            checked
                .queries
                .into_iter()
                .map(|query| (shown.to_string(), query)),
        );
    }
    check_promql(&promtool, &queries)
}

/// What [`check_dashboard`] found.
#[derive(Debug, Default)]
struct DashboardCheck {
    problems: Vec<String>,
    panels: usize,
    queries: Vec<PanelQuery>,
}

fn check_dashboard(dashboard: &Value, datasources: &[Datasource]) -> DashboardCheck {
    let mut check = DashboardCheck::default();
    for key in ["uid", "title"] {
        if dashboard
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            check
                .problems
                .push(format!("no `{key}`: provisioning needs a stable one"));
        }
    }
    // Every datasource reference, wherever it is (panels, targets, variables, annotations).
    let mut references = Vec::new();
    collect_datasource_references(dashboard, "$".to_owned(), &mut references);
    for (path, reference) in references {
        if let Err(problem) = resolve_datasource(reference, datasources) {
            check.problems.push(format!("{path}: {problem}"));
        }
    }
    // Every panel names its datasource; the Prometheus queries are collected for promtool.
    let mut ids = BTreeSet::new();
    let top = dashboard.get("panels").and_then(Value::as_array);
    if top.is_none_or(Vec::is_empty) {
        check.problems.push("no `panels`".to_owned());
    }
    // In document order: each panel, then those of a (collapsed) row inside it.
    let panels = top.into_iter().flatten().flat_map(|panel| {
        std::iter::once(panel).chain(
            panel
                .get("panels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
    });
    for panel in panels {
        let title = panel
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("(untitled)");
        if let Some(id) = panel.get("id").and_then(Value::as_u64)
            && !ids.insert(id)
        {
            check
                .problems
                .push(format!("panel `{title}`: id {id} is used twice"));
        }
        let kind = panel.get("type").and_then(Value::as_str).unwrap_or("");
        if PANELS_WITHOUT_QUERIES.contains(&kind) {
            continue;
        }
        check.panels += 1;
        let panel_source = panel.get("datasource");
        if panel_source.is_none() {
            check.problems.push(format!(
                "panel `{title}` has no `datasource`: give it one by uid"
            ));
        }
        let targets = panel.get("targets").and_then(Value::as_array);
        if targets.is_none_or(Vec::is_empty) {
            check
                .problems
                .push(format!("panel `{title}` has no query (`targets`)"));
        }
        for target in targets.into_iter().flatten() {
            let source = target.get("datasource").or(panel_source);
            let Some(Ok(datasource)) = source.map(|source| resolve_datasource(source, datasources))
            else {
                continue; // reported above
            };
            if datasource.kind != "prometheus" {
                continue;
            }
            let ref_id = target
                .get("refId")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            match target.get("expr").and_then(Value::as_str) {
                Some(expr) if !expr.trim().is_empty() => check.queries.push(PanelQuery {
                    panel: title.to_owned(),
                    ref_id,
                    expr: expr.to_owned(),
                }),
                _ => check
                    .problems
                    .push(format!("panel `{title}`, query {ref_id}: no PromQL `expr`")),
            }
        }
    }
    check
}

/// Every value of a `datasource` key in the document, with its JSON path.
fn collect_datasource_references<'a>(
    value: &'a Value,
    path: String,
    found: &mut Vec<(String, &'a Value)>,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if key == "datasource" {
                    found.push((child_path.clone(), child));
                }
                collect_datasource_references(child, child_path, found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_datasource_references(child, format!("{path}[{index}]"), found);
            }
        }
        _ => {}
    }
}

/// The provisioned datasource a reference (`{"type": "prometheus", "uid": "prometheus"}`)
/// names; Grafana's built-in ones resolve to a datasource of their own kind.
fn resolve_datasource(reference: &Value, datasources: &[Datasource]) -> Result<Datasource, String> {
    let Some(uid) = reference.get("uid").and_then(Value::as_str) else {
        return Err(format!(
            "datasource {reference} is not an object with a `uid`: a datasource by name, or an \
             import input like ${{DS_PROMETHEUS}}, only resolves on a manual import, not with \
             provisioning"
        ));
    };
    let kind = reference.get("type").and_then(Value::as_str);
    if BUILTIN_DATASOURCE_UIDS.contains(&uid) {
        return Ok(Datasource {
            uid: uid.to_owned(),
            kind: kind.unwrap_or("grafana").to_owned(),
        });
    }
    let Some(datasource) = datasources.iter().find(|ds| ds.uid == uid) else {
        return Err(format!("datasource uid `{uid}` is not provisioned"));
    };
    if let Some(kind) = kind
        && kind != datasource.kind
    {
        return Err(format!(
            "datasource uid `{uid}` is given type `{kind}`, but is provisioned as `{}`",
            datasource.kind
        ));
    }
    Ok(datasource.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::observability::datasources::tests::provisioned;

    fn dashboard(panels: Value) -> Value {
        json!({"uid": "d", "title": "D", "schemaVersion": 39, "panels": panels})
    }

    #[test]
    fn accepts_provisioned_datasources_and_collects_promql() {
        let prom = json!({"type": "prometheus", "uid": "prometheus"});
        let loki = json!({"type": "loki", "uid": "loki"});
        let checked = check_dashboard(
            &dashboard(json!([
                {"id": 1, "type": "row", "title": "Row", "panels": [
                    {"id": 2, "type": "timeseries", "title": "Nested", "datasource": prom,
                     "targets": [{"refId": "A", "expr": "up"}]}
                ]},
                {"id": 3, "type": "timeseries", "title": "Rate", "datasource": prom,
                 "targets": [{"refId": "A", "datasource": prom, "expr": "rate(x[5m])"}]},
                {"id": 4, "type": "logs", "title": "Logs", "datasource": loki,
                 "targets": [{"refId": "A", "expr": "{app=\"x\"}"}]},
                {"id": 5, "type": "text", "title": "Notes"}
            ])),
            &provisioned(),
        );
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert_eq!(checked.panels, 3);
        let exprs: Vec<&str> = checked.queries.iter().map(|q| q.expr.as_str()).collect();
        assert_eq!(exprs, ["up", "rate(x[5m])"]);
    }

    #[test]
    fn rejects_unknown_or_unresolvable_datasources() {
        let checked = check_dashboard(
            &dashboard(json!([
                {"id": 1, "type": "timeseries", "title": "Unknown uid",
                 "datasource": {"type": "prometheus", "uid": "other"},
                 "targets": [{"refId": "A", "expr": "up"}]},
                {"id": 2, "type": "timeseries", "title": "Import input",
                 "datasource": "${DS_PROMETHEUS}",
                 "targets": [{"refId": "A", "expr": "up"}]},
                {"id": 3, "type": "timeseries", "title": "Wrong type",
                 "datasource": {"type": "loki", "uid": "prometheus"},
                 "targets": [{"refId": "A", "expr": "up"}]},
                {"id": 3, "type": "stat", "title": "No datasource",
                 "targets": [{"refId": "A", "expr": "up"}]}
            ])),
            &provisioned(),
        );
        let problems = checked.problems.join("\n");
        assert!(
            problems.contains("uid `other` is not provisioned"),
            "{problems}"
        );
        assert!(problems.contains("DS_PROMETHEUS"), "{problems}");
        assert!(
            problems.contains("provisioned as `prometheus`"),
            "{problems}"
        );
        assert!(
            problems.contains("`No datasource` has no `datasource`"),
            "{problems}"
        );
        assert!(problems.contains("id 3 is used twice"), "{problems}");
    }
}
