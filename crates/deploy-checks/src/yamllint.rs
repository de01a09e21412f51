//! yamllint on the deployment YAML, with the repository's `.yamllint`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::command::{describe_output, output};
use crate::tools::Venv;

/// What is linted, relative to the workspace root (yamllint picks the YAML files of a
/// directory; `.yamllint` itself is YAML too, and excludes deploy/observability/).
pub const LINTED: [&str; 3] = ["deploy", "docker-compose.yml", ".yamllint"];

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    lint(tools, root, &LINTED)?;
    eprintln!("deploy-checks: yamllint: {} clean", LINTED.join(", "));
    Ok(())
}

/// `yamllint --strict` (warnings fail too) with `ROOT/.yamllint`, run in `root`.
pub fn lint(tools: &Venv, root: &Path, paths: &[&str]) -> Result<()> {
    let config = crate::repo_root().join(".yamllint");
    let linted = output(
        tools
            .command("yamllint")
            .current_dir(root)
            .args(["--strict", "--format", "parsable", "--config-file"])
            .arg(&config)
            .args(paths),
    )?;
    if !linted.status.success() {
        bail!("yamllint found problems:\n{}", describe_output(&linted));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn rejects_what_the_config_forbids() {
        let tools = Venv::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // `yes` is a string to Kubernetes, a boolean to YAML 1.1 readers; and a duplicate key.
        fs::write(
            dir.path().join("broken.yaml"),
            "enabled: yes\nname: a\nname: b\n",
        )
        .unwrap();
        let err = lint(&tools, dir.path(), &["broken.yaml"]).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("truthy"), "{message}");
        assert!(message.contains("key-duplicates"), "{message}");
    }

    #[test]
    fn accepts_clean_yaml() {
        let tools = Venv::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("ok.yaml"), "enabled: true\nname: a\n").unwrap();
        lint(&tools, dir.path(), &["ok.yaml"]).unwrap();
    }
}
