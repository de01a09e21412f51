//! Adapters on Redis, shared by every replica: sessions and rate-limit budgets, both reached
//! through the one client that `connection.rs` builds (settings, TLS, URL redaction).

mod connection;
mod rate_limiter;
mod sessions;

pub use connection::{CA_FILE_PARAMETER, RedisSettings, open_client};
pub use rate_limiter::{GCRA_SCRIPT, RATE_LIMIT_KEY_PREFIX, RedisRateLimiter};
pub use sessions::{
    RedisSessionStore, SESSION_KEY_PREFIX, USER_SESSIONS_PREFIX, session_key, user_sessions_key,
};
