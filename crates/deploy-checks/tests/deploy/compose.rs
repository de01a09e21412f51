//! docker-compose.yml matches the Compose Specification, its references resolve, and its
//! secrets are required and set by the local profile.

use deploy_checks::tools::Venv;
use deploy_checks::{compose, repo_root};

#[test]
fn docker_compose_is_valid_and_its_references_resolve() -> anyhow::Result<()> {
    compose::check(&Venv::locate()?, &repo_root())
}
