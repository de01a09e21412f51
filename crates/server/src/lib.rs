//! The `order-manager` binary's library: configuration, wiring and startup. The only crate that
//! knows every concrete adapter.

pub mod cli;
pub mod startup;
pub mod telemetry;
