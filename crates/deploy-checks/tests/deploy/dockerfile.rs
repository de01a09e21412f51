//! deploy/Dockerfile has this project's essentials and passes hadolint.

use deploy_checks::tools::Venv;
use deploy_checks::{dockerfile, repo_root};

#[test]
fn the_dockerfile_has_the_essentials_and_passes_hadolint() -> anyhow::Result<()> {
    dockerfile::check(&Venv::locate()?, &repo_root())
}
