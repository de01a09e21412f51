//! The dev-only test kit: what the test suites of every crate share. Never a dependency of a
//! product crate.

pub mod stores;
pub mod tls;
