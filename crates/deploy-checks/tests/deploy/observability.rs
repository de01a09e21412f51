//! The monitoring configuration of `deploy/observability/`, checked by promtool and amtool, and
//! the Grafana dashboards against the provisioned datasources (`cargo xtask observability`
//! runs these tests alone).

use deploy_checks::observability::{
    PROMETHEUS_CONFIGS, alerts, check_alert_rules, check_alertmanager_config, dashboards,
    prometheus_config, test_alert_rules,
};

#[test]
fn the_prometheus_configurations_are_valid() -> anyhow::Result<()> {
    PROMETHEUS_CONFIGS
        .iter()
        .try_for_each(|config| prometheus_config::check_prometheus_config(config))
}

#[test]
fn the_alert_rules_are_valid() -> anyhow::Result<()> {
    check_alert_rules()
}

#[test]
fn the_alert_rules_pass_their_unit_tests() -> anyhow::Result<()> {
    test_alert_rules()
}

#[test]
fn the_alertmanager_configuration_is_valid() -> anyhow::Result<()> {
    check_alertmanager_config()
}

#[test]
fn every_severity_reaches_its_receiver() -> anyhow::Result<()> {
    alerts::check_alert_routing()
}

#[test]
fn every_alert_has_a_runbook_section() -> anyhow::Result<()> {
    alerts::check_runbooks()
}

#[test]
fn the_dashboards_use_provisioned_datasources_and_valid_promql() -> anyhow::Result<()> {
    dashboards::check_dashboards()
}
