//! Use cases of the order manager and the ports (traits) they need from the outside world.
//! Delivery (HTTP) calls the use cases; adapters implement the ports; this crate knows neither.

pub mod pagination;
pub mod ports;
mod principal;
pub mod raw_input;
pub mod use_cases;

pub use principal::{Credential, Forbidden, Principal};
