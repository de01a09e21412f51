//! HTTP tests of the whole app on a random port (SQLite in a temporary directory), and tests of
//! the built binary alone (SQLite, and MariaDB from `cargo xtask ci`). Scenarios of several
//! processes (replicas, faults, the cluster) are the `e2e` target's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod auth;
mod binary;
mod body_budget;
mod bulk;
mod dev_stack;
mod helpers;
mod hostile_input;
mod lifecycle;
mod observability;
mod openapi;
mod pagination;
mod rate_limit;
mod read_customers;
mod readiness;
#[path = "../shared/mod.rs"]
mod shared;
mod store_tls;
mod submit_orders;
