//! yamllint, with the repository's `.yamllint`, on the YAML of `deploy/` and
//! docker-compose.yml.

use deploy_checks::tools::Venv;
use deploy_checks::{repo_root, yamllint};

#[test]
fn the_deployment_yaml_is_lint_free() -> anyhow::Result<()> {
    yamllint::check(&Venv::locate()?, &repo_root())
}
