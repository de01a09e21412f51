//! Every kustomization of `deploy/k8s/` renders, and its output is valid for the oldest and the
//! newest Kubernetes the manifests support.

use deploy_checks::tools::Venv;
use deploy_checks::{kubernetes, repo_root};

#[test]
fn every_kustomization_renders_and_validates_strictly() -> anyhow::Result<()> {
    kubernetes::check(&Venv::locate()?, &repo_root())
}
