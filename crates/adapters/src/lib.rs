//! Implementations of the application's ports with real technology.

pub mod sql;
