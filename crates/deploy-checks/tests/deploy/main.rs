//! The deployment checks, one test per check: the files of `deploy/` and docker-compose.yml
//! against their tools (kubectl kustomize, kubernetes-validate, yamllint, check-jsonschema,
//! hadolint, nginx), against each other, and against the binary's own
//! configuration (`settings`). `cargo xtask deploy-check`
//! installs the tools and runs them; a missing tool fails its check with that command.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod client_ip;
mod compose;
mod dockerfile;
mod kubernetes;
mod nginx;
mod settings;
mod store_tls;
mod yamllint;
