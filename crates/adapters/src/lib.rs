//! Implementations of the application's ports with real technology, one module per
//! technology: [`sql`], [`redis`], [`memory`], [`crypto`]. No adapter imports another: what
//! two adapters of one technology share lives in that technology's module, and a rule that
//! every implementation of a port follows lives with the port.
//!
//! [`fallback_rate_limiter`] is no technology of its own: it puts a shared rate limiter
//! (Redis) in front of a local one (memory) and knows each only as a port.

pub mod crypto;
pub mod fallback_rate_limiter;
pub mod memory;
pub mod redis;
pub mod sql;
