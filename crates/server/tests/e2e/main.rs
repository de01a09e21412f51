//! The end-to-end suite: every scenario of several processes, each started from the built
//! binary (`CARGO_BIN_EXE_order-manager`, which cargo builds before this target): replicas
//! sharing sessions and rate limits through Redis, faults under load, the cluster behind nginx
//! with TLS, and the API contract (schemathesis, the docs page in a browser).
//!
//! The tests of one or two replicas need `ORDER_MANAGER_TEST_MYSQL_URL` (`cargo xtask mariadb`);
//! the cluster scenarios start their own stores; the API contract needs the tools
//! `cargo xtask api-check` installs. nextest runs them one at a time (`.config/nextest.toml`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod api_contract;
mod cluster_scenarios;
mod faults;
mod rate_limit_across_replicas;
mod replicas;
#[path = "../shared/mod.rs"]
mod shared;
mod support;
