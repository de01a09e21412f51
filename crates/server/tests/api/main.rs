//! HTTP tests of the whole app on a random port (SQLite in a temporary directory), and
//! end-to-end tests of the built binary (SQLite, and MariaDB from `cargo xtask ci`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod auth;
mod binary;
mod body_budget;
mod bulk;
mod dev_stack;
mod faults;
mod helpers;
mod hostile_input;
mod lifecycle;
mod observability;
mod openapi;
mod pagination;
mod rate_limit;
mod rate_limit_e2e;
mod read_customers;
mod readiness;
mod replicas;
mod store_tls;
mod submit_orders;
