//! The helpers of the deployment checks; the checks themselves are this crate's tests
//! (`tests/deploy/`), run by `cargo nextest run -p order-manager-deploy-checks`, by
//! `cargo xtask deploy-check` and `cargo xtask observability`, and in the one test pass of
//! `cargo xtask ci`.
//!
//! Offline checks, since no container engine nor cluster is at hand:
//! - [`kubernetes`]: every kustomization under `deploy/k8s/` rendered with `kubectl kustomize`
//!   and validated with `kubernetes-validate --strict`; [`client_ip`] and [`store_tls`] read the
//!   rendered overlays;
//! - [`yamllint`], [`compose`] (the Compose Specification schema and the references it cannot
//!   see), [`dockerfile`] (the essentials, then hadolint), [`nginx`] (`nginx -t`);
//! - [`observability`]: promtool, amtool, the Grafana dashboards against the datasources;
//! - [`deployed_env`]: what the containers of the service are given, for the settings
//!   cross-check against the binary's own configuration (`tests/deploy/settings/`).
//!
//! The tools are found where `cargo xtask deploy-check` and `cargo xtask observability` install
//! them ([`tools`]); a missing one fails the check with the command that installs it.

pub mod client_ip;
pub mod command;
pub mod compose;
pub mod deployed_env;
pub mod dockerfile;
pub mod kubernetes;
pub mod manifest;
pub mod nginx;
pub mod observability;
pub mod store_tls;
pub mod tools;
pub mod yamllint;

use std::path::Path;

/// The repository root, where `deploy/` and `docker-compose.yml` live.
pub use testkit::workspace_root as repo_root;

/// `path` relative to `root` when it is below it, for short messages.
pub fn relative<'a>(path: &'a Path, root: &Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}
