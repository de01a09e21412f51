//! `promtool check config` on the Prometheus configurations, with or without Kubernetes
//! discovery in the installed promtool.

use std::fs;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{promtool, tool};
use crate::command::{run_checked, run_logged};
use crate::repo_root;

/// `promtool check config`, which also checks the rule files the configuration loads.
///
/// Debian's promtool is built without Kubernetes service discovery and refuses
/// `kubernetes_sd_configs` as an unknown field; such a configuration is then checked without
/// those blocks (everything else, relabelling and rule files included, still is), from a
/// temporary copy of its directory so that relative rule file paths still resolve.
pub fn check_prometheus_config(config: &str) -> Result<()> {
    let promtool = promtool()?;
    let mut command = tool(&promtool, ["check", "config", config]);
    let finished = run_logged(&mut command)?;
    if finished.status.success() {
        return Ok(());
    }
    if !finished
        .text
        .contains("field kubernetes_sd_configs not found")
    {
        bail!("`{}` failed ({})", finished.shown, finished.status);
    }
    eprintln!(
        "deploy-checks: this promtool has no Kubernetes discovery (Debian builds it without); checking \
         {config} without its kubernetes_sd_configs blocks"
    );
    let source = repo_root().join(config);
    let source_dir = source
        .parent()
        .with_context(|| format!("{config} has no parent directory"))?;
    let copy_dir = tempfile::Builder::new()
        .prefix("deploy-checks-prometheus-")
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
    run_checked(&mut command).map(drop)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
