//! Checks of the monitoring configuration in `deploy/observability/` (the tests of
//! `tests/deploy/observability.rs`, run by `cargo xtask observability`).
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
//! `prometheus-alertmanager`, installed by the xtask preflight (`cargo xtask observability`).

pub mod alerts;
pub mod dashboards;
mod datasources;
pub mod prometheus_config;
mod promql;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::command::run_checked;
use crate::repo_root;
use crate::tools::{INSTALL_OBSERVABILITY_TOOLS, system_program};

/// Every path below is relative to the repository root, so that messages show short paths.
pub const PROMETHEUS_CONFIGS: [&str; 2] = [
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

/// `promtool check rules` on the alert rules.
pub fn check_alert_rules() -> Result<()> {
    run_checked(&mut tool(&promtool()?, ["check", "rules", ALERT_RULES])).map(drop)
}

/// `promtool test rules`: the alerts' own unit tests.
pub fn test_alert_rules() -> Result<()> {
    run_checked(&mut tool(&promtool()?, ["test", "rules", ALERT_TESTS])).map(drop)
}

/// `amtool check-config` on the Alertmanager configuration.
pub fn check_alertmanager_config() -> Result<()> {
    run_checked(&mut tool(&amtool()?, ["check-config", ALERTMANAGER_CONFIG])).map(drop)
}

fn promtool() -> Result<PathBuf> {
    system_program("promtool", "prometheus", INSTALL_OBSERVABILITY_TOOLS)
}

fn amtool() -> Result<PathBuf> {
    system_program(
        "amtool",
        "prometheus-alertmanager",
        INSTALL_OBSERVABILITY_TOOLS,
    )
}

/// `program args...`, run in the repository root (the paths are relative to it).
fn tool<I, S>(program: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).current_dir(repo_root());
    command
}
