//! The alerts: every severity reaches its receiver, every alert has a runbook that exists.

use std::collections::BTreeSet;
use std::fs;

use anyhow::{Context, Result, bail};

use super::{ALERT_RULES, ALERTMANAGER_CONFIG, RECEIVER_BY_SEVERITY, amtool, tool};
use crate::command::run_checked;
use crate::repo_root;

/// Every severity the alert rules use reaches the receiver it is meant for
/// (`amtool config routes test --verify.receivers`), and none is left without one.
pub fn check_alert_routing() -> Result<()> {
    let amtool = amtool()?;
    let rules = fs::read_to_string(repo_root().join(ALERT_RULES))
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
        run_checked(&mut tool(
            &amtool,
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
pub fn check_runbooks() -> Result<()> {
    let root = repo_root();
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
    eprintln!("deploy-checks: {ALERT_RULES}: {alerts} alerts, every runbook section exists");
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
pub(super) fn key_value(line: &str) -> Option<(&str, &str)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
