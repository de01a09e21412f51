//! Implementations of the application's ports with real technology.

pub mod argon2_hasher;
pub mod cached_api_key_store;
pub mod fallback_rate_limiter;
pub mod jwt;
pub mod memory_rate_limiter;
pub mod memory_sessions;
pub mod redis_connection;
pub mod redis_rate_limiter;
pub mod redis_sessions;
mod session_ttl;
pub mod sql;
