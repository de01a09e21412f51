//! The `order-manager` binary's library: configuration, wiring and startup. The only crate that
//! knows every concrete adapter.

pub mod admin;
pub mod cli;
pub mod database;
pub mod export;
pub mod import;
pub mod metrics;
pub mod rate_limiting;
pub mod startup;
pub mod telemetry;
pub mod transport_security;
pub mod wiring;
