//! The deployment checks, one test per check: the files of `deploy/` and docker-compose.yml
//! against their tools (kubectl kustomize, kubernetes-validate, yamllint, check-jsonschema,
//! hadolint, nginx, promtool, amtool), against each other, and against the binary's own
//! configuration (`settings`). `cargo xtask deploy-check` and `cargo xtask observability`
//! install the tools and run them; a missing tool fails its check with that command.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod client_ip;
mod compose;
mod dockerfile;
mod kubernetes;
mod nginx;
mod observability;
mod settings;
mod store_tls;
mod yamllint;
