//! `cargo xtask observability` (also a step of `cargo xtask ci`): checks of the monitoring
//! configuration in `deploy/observability/`.
//!
//! - `promtool check config` on the Prometheus configurations (which also checks the rule
//!   files they load), `promtool check rules` and `promtool test rules` on the alerts;
//! - `amtool check-config` on the Alertmanager configuration, and `amtool config routes test`
//!   that every severity the rules use reaches its receiver;
//! - the Grafana dashboards: valid JSON, every datasource one that provisioning defines (by
//!   uid), and every Prometheus query valid PromQL (checked by promtool as a recording rule).
//!
//! Why: these files are only read by servers that CI never starts; a typo in an expression or a
//! datasource uid would otherwise show up as a silent alert or an empty panel in production.
//! promtool and amtool come from the Debian packages `prometheus` and
//! `prometheus-alertmanager`, installed by the preflight (xtask/src/preflight.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::cargo::{display, run_inherited, workspace_root};
use crate::preflight::{self, Tool};

/// Every path below is relative to the workspace root, so that messages show short paths.
const PROMETHEUS_CONFIGS: [&str; 2] = [
    "deploy/observability/prometheus/prometheus.yml",
    "deploy/observability/prometheus/prometheus-kubernetes.yml",
];
const ALERT_RULES: &str = "deploy/observability/prometheus/alerts.yml";
const ALERT_TESTS: &str = "deploy/observability/prometheus/alerts.test.yml";
const ALERTMANAGER_CONFIG: &str = "deploy/observability/alertmanager/alertmanager.yml";
const GRAFANA_DATASOURCES: &str =
    "deploy/observability/grafana/provisioning/datasources/datasources.yml";
const GRAFANA_DASHBOARDS: &str = "deploy/observability/grafana/dashboards";

/// Where each alert severity must be routed by the Alertmanager configuration.
const RECEIVER_BY_SEVERITY: [(&str, &str); 2] = [("critical", "pager"), ("warning", "chat")];

/// Datasource uids that Grafana itself provides, never provisioned.
const BUILTIN_DATASOURCE_UIDS: [&str; 3] = ["-- Grafana --", "-- Mixed --", "-- Dashboard --"];

/// Panel types that query no datasource.
const PANELS_WITHOUT_QUERIES: [&str; 4] = ["row", "text", "news", "dashlist"];

/// `cargo xtask observability`.
pub fn run() -> Result<()> {
    let started = Instant::now();
    check()?;
    eprintln!(
        "xtask observability: ok in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every check, stopping at the first failure.
pub fn check() -> Result<()> {
    let tools = Tools::locate()?;
    for config in PROMETHEUS_CONFIGS {
        check_prometheus_config(&tools.promtool, config)?;
    }
    run_inherited(&mut tool(&tools.promtool, ["check", "rules", ALERT_RULES]))?;
    run_inherited(&mut tool(&tools.promtool, ["test", "rules", ALERT_TESTS]))?;
    run_inherited(&mut tool(
        &tools.amtool,
        ["check-config", ALERTMANAGER_CONFIG],
    ))?;
    check_alert_routing(&tools.amtool)?;
    check_runbooks()?;
    check_dashboards(&tools.promtool)
}

/// promtool and amtool.
#[derive(Debug)]
struct Tools {
    promtool: PathBuf,
    amtool: PathBuf,
}

impl Tools {
    fn locate() -> Result<Self> {
        Ok(Self {
            promtool: preflight::locate(Tool::Promtool, &["promtool"])?,
            amtool: preflight::locate(Tool::Amtool, &["amtool"])?,
        })
    }
}

/// `program args...`, run in the workspace root (the paths are relative to it).
fn tool<I, S>(program: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace_root());
    command
}

/// `promtool check config`, which also checks the rule files the configuration loads.
///
/// Debian's promtool is built without Kubernetes service discovery and refuses
/// `kubernetes_sd_configs` as an unknown field; such a configuration is then checked without
/// those blocks (everything else, relabelling and rule files included, still is), from a
/// temporary copy of its directory so that relative rule file paths still resolve.
fn check_prometheus_config(promtool: &Path, config: &str) -> Result<()> {
    let mut command = tool(promtool, ["check", "config", config]);
    let shown = display(&command);
    eprintln!("xtask: running `{shown}`");
    let output = command
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        eprint!("{text}");
        return Ok(());
    }
    if !text.contains("field kubernetes_sd_configs not found") {
        eprint!("{text}");
        bail!("`{shown}` failed ({})", output.status);
    }
    eprintln!(
        "xtask: this promtool has no Kubernetes discovery (Debian builds it without); checking \
         {config} without its kubernetes_sd_configs blocks"
    );
    let source = workspace_root().join(config);
    let source_dir = source
        .parent()
        .with_context(|| format!("{config} has no parent directory"))?;
    let copy_dir = tempfile::Builder::new()
        .prefix("xtask-prometheus-")
        .tempdir()
        .context("could not create a temporary directory")?;
    for entry in
        fs::read_dir(source_dir).with_context(|| format!("could not list {source_dir:?}"))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), copy_dir.path().join(entry.file_name()))
                .with_context(|| format!("could not copy {:?}", entry.path()))?;
        }
    }
    let original =
        fs::read_to_string(&source).with_context(|| format!("could not read {config}"))?;
    let file_name = source
        .file_name()
        .with_context(|| format!("{config} has no file name"))?;
    let stripped = copy_dir.path().join(file_name);
    fs::write(&stripped, without_kubernetes_sd(&original))
        .with_context(|| format!("could not write {stripped:?}"))?;
    let mut command = Command::new(promtool);
    command.args(["check", "config"]).arg(&stripped);
    run_inherited(&mut command)
}

/// `text` without its `kubernetes_sd_configs:` blocks: the key's line and every following
/// line indented deeper than it (or blank, or a comment).
fn without_kubernetes_sd(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut skipping_deeper_than: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(block_indent) = skipping_deeper_than {
            if trimmed.is_empty() || trimmed.starts_with('#') || indent > block_indent {
                continue;
            }
            skipping_deeper_than = None;
        }
        if trimmed.starts_with("kubernetes_sd_configs:") {
            skipping_deeper_than = Some(indent);
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Every severity the alert rules use reaches the receiver it is meant for
/// (`amtool config routes test --verify.receivers`), and none is left without one.
fn check_alert_routing(amtool: &Path) -> Result<()> {
    let rules = fs::read_to_string(workspace_root().join(ALERT_RULES))
        .with_context(|| format!("could not read {ALERT_RULES}"))?;
    let severities = label_values(&rules, "severity");
    if severities.is_empty() {
        bail!("{ALERT_RULES} gives no alert a `severity` label");
    }
    for severity in &severities {
        let Some((_, receiver)) = RECEIVER_BY_SEVERITY
            .iter()
            .find(|(known, _)| known == severity)
        else {
            bail!(
                "{ALERT_RULES} uses severity `{severity}`, which has no receiver here; known: {}",
                RECEIVER_BY_SEVERITY
                    .iter()
                    .map(|(known, _)| *known)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        run_inherited(&mut tool(
            amtool,
            [
                "config".to_owned(),
                "routes".to_owned(),
                "test".to_owned(),
                format!("--config.file={ALERTMANAGER_CONFIG}"),
                format!("--verify.receivers={receiver}"),
                format!("severity={severity}"),
                "alertname=XtaskRoutingCheck".to_owned(),
                "service=order-manager".to_owned(),
            ],
        ))?;
    }
    Ok(())
}

/// Every alert has a `runbook` annotation, and each names a heading that exists in the
/// document it points to (`deploy/observability/README.md#ordermanagerdown`).
fn check_runbooks() -> Result<()> {
    let root = workspace_root();
    let rules = fs::read_to_string(root.join(ALERT_RULES))
        .with_context(|| format!("could not read {ALERT_RULES}"))?;
    let alerts = rules
        .lines()
        .filter(|line| line.trim_start().starts_with("- alert:"))
        .count();
    let links: Vec<String> = rules
        .lines()
        .filter_map(|line| key_value(line.trim_start()))
        .filter(|(key, _)| *key == "runbook")
        .map(|(_, link)| link.to_owned())
        .collect();
    if links.len() != alerts {
        bail!(
            "{ALERT_RULES} has {alerts} alerts but {} `runbook` annotations: give every alert one",
            links.len()
        );
    }
    let mut missing = Vec::new();
    for link in &links {
        let Some((document, anchor)) = link.split_once('#') else {
            bail!("runbook `{link}` in {ALERT_RULES} names no section (`file#anchor`)");
        };
        let text = fs::read_to_string(root.join(document))
            .with_context(|| format!("runbook `{link}`: could not read {document}"))?;
        let found = text
            .lines()
            .filter_map(|line| line.strip_prefix('#'))
            .map(|heading| heading_anchor(heading.trim_start_matches('#')))
            .any(|slug| slug == anchor);
        if !found {
            missing.push(link.as_str());
        }
    }
    if !missing.is_empty() {
        bail!(
            "runbook sections missing (no heading with that anchor): {}",
            missing.join(", ")
        );
    }
    eprintln!("xtask: {ALERT_RULES}: {alerts} alerts, every runbook section exists");
    Ok(())
}

/// The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as `-`.
fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The values of `name: value` lines of a YAML text (`severity: critical` -> `critical`).
fn label_values(yaml: &str, name: &str) -> BTreeSet<String> {
    yaml.lines()
        .filter_map(|line| key_value(line.trim_start()))
        .filter(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
        .collect()
}

/// `key: value` (a trailing ` # comment` and surrounding quotes removed), for simple YAML.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    if key.is_empty() || key.contains([' ', '"', '\'', '#', '-']) {
        return None;
    }
    let value = value.split(" #").next().unwrap_or_default().trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some((key, value))
}

/// A datasource that Grafana's provisioning creates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Datasource {
    uid: String,
    kind: String,
}

/// The datasources of a Grafana provisioning file: the `uid` and `type` of each item of the
/// top-level `datasources:` list.
///
/// A reader for the block style this project writes (one `- ` item after another, keys two
/// columns deeper), not a YAML parser: deeper keys (`jsonData`) are ignored, and an item
/// without both keys is an error rather than a guess.
fn provisioned_datasources(yaml: &str) -> Result<Vec<Datasource>> {
    let mut lines = yaml
        .lines()
        .skip_while(|line| line.trim_end() != "datasources:");
    if lines.next().is_none() {
        bail!("no top-level `datasources:` list");
    }
    let mut items: Vec<BTreeMap<String, String>> = Vec::new();
    let mut item_indent = None;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            break; // the next top-level key
        }
        let item_indent = *item_indent.get_or_insert(indent);
        let entry = if indent == item_indent {
            let Some(first_key) = trimmed.strip_prefix("- ") else {
                bail!("expected a list item (`- `) at: {line}");
            };
            items.push(BTreeMap::new());
            first_key
        } else if indent == item_indent + 2 {
            trimmed
        } else {
            continue;
        };
        if let (Some(item), Some((key, value))) = (items.last_mut(), key_value(entry)) {
            item.insert(key.to_owned(), value.to_owned());
        }
    }
    if items.is_empty() {
        bail!("the `datasources:` list is empty");
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match (item.get("uid"), item.get("type")) {
            (Some(uid), Some(kind)) if !uid.is_empty() && !kind.is_empty() => Ok(Datasource {
                uid: uid.clone(),
                kind: kind.clone(),
            }),
            _ => Err(anyhow!(
                "datasource #{} ({}) needs both `uid` and `type`: dashboards refer to it by uid",
                index + 1,
                item.get("name").map_or("unnamed", String::as_str)
            )),
        })
        .collect()
}

/// A Prometheus query of a dashboard panel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PanelQuery {
    panel: String,
    ref_id: String,
    expr: String,
}

/// Checks every `*.json` under the dashboards directory against the provisioned datasources,
/// then their Prometheus queries with promtool.
fn check_dashboards(promtool: &Path) -> Result<()> {
    let root = workspace_root();
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
            "xtask: {shown}: {} panels, every datasource provisioned",
            checked.panels
        );
        queries.extend(
            checked
                .queries
                .into_iter()
                .map(|query| (shown.to_string(), query)),
        );
    }
    check_promql(promtool, &queries)
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

/// Checks the dashboards' PromQL with promtool: each query becomes a recording rule of a
/// temporary rule file, after replacing Grafana's variables by values PromQL accepts.
fn check_promql(promtool: &Path, queries: &[(String, PanelQuery)]) -> Result<()> {
    if queries.is_empty() {
        return Ok(());
    }
    let mut rules = String::from("# The dashboards' Prometheus queries, written by xtask.\n");
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
        .prefix("xtask-dashboard-queries-")
        .tempdir()
        .context("could not create a temporary directory")?;
    let file = dir.path().join("dashboard-queries.yml");
    fs::write(&file, &rules).with_context(|| format!("could not write {file:?}"))?;
    eprintln!(
        "xtask: checking the {} Prometheus queries of the dashboards as recording rules",
        queries.len()
    );
    let mut command = Command::new(promtool);
    command.args(["check", "rules"]).arg(&file);
    let shown = display(&command);
    eprintln!("xtask: running `{shown}`");
    let output = command
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprint!("{text}");
    if output.status.success() {
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
        output.status,
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
    use serde_json::json;

    use super::*;

    fn provisioned() -> Vec<Datasource> {
        vec![
            Datasource {
                uid: "prometheus".to_owned(),
                kind: "prometheus".to_owned(),
            },
            Datasource {
                uid: "loki".to_owned(),
                kind: "loki".to_owned(),
            },
        ]
    }

    #[test]
    fn reads_the_provisioned_datasources() {
        let yaml = "\
# comment
apiVersion: 1

datasources:
  - name: Prometheus
    type: prometheus
    uid: prometheus   # fixed, for the dashboards
    jsonData:
      uid: not-this-one
      derivedFields:
        - name: x
          uid: nor-this-one
  - name: \"Loki\"
    uid: 'loki'
    type: loki
deleteDatasources: []
";
        assert_eq!(provisioned_datasources(yaml).unwrap(), provisioned());
    }

    #[test]
    fn a_datasource_without_uid_is_an_error() {
        let yaml = "datasources:\n  - name: Prometheus\n    type: prometheus\n";
        let err = provisioned_datasources(yaml).unwrap_err().to_string();
        assert!(err.contains("Prometheus"), "{err}");
        assert!(provisioned_datasources("apiVersion: 1\n").is_err());
    }

    #[test]
    fn strips_kubernetes_sd_blocks_only() {
        let config = "\
scrape_configs:
  - job_name: a
    kubernetes_sd_configs:
      - role: pod
        # a comment

        selectors:
          - role: pod
    relabel_configs:
      - action: keep
  - job_name: b
    kubernetes_sd_configs: [{role: pod}]
";
        assert_eq!(
            without_kubernetes_sd(config),
            "\
scrape_configs:
  - job_name: a
    relabel_configs:
      - action: keep
  - job_name: b
"
        );
    }

    #[test]
    fn finds_the_severities() {
        let rules = "\
        labels:
          severity: critical
          service: x
        labels:
          severity: \"warning\"  # quoted
";
        assert_eq!(
            label_values(rules, "severity"),
            BTreeSet::from(["critical".to_owned(), "warning".to_owned()])
        );
    }

    #[test]
    fn anchors_like_github() {
        assert_eq!(heading_anchor(" OrderManagerDown"), "ordermanagerdown");
        assert_eq!(heading_anchor(" How the pieces fit"), "how-the-pieces-fit");
        assert_eq!(
            heading_anchor(" docker-compose (local)"),
            "docker-compose-local"
        );
    }

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
