//! Implementations of the application's ports with real technology.

pub mod argon2_hasher;
pub mod jwt;
pub mod memory_sessions;
pub mod redis_sessions;
pub mod sql;
