//! Adapters in this process's memory: the embedded single-process setup's sessions and rate
//! limits, and the in-process cache in front of the API-key store. Nothing here is shared
//! between replicas.

mod cached_api_key_store;
mod rate_limiter;
mod sessions;

pub use cached_api_key_store::CachedApiKeyStore;
pub use rate_limiter::{InMemoryRateLimiter, PRUNE_INTERVAL};
pub use sessions::{DEFAULT_MAX_SESSIONS, InMemorySessionStore};
