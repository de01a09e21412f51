//! [`SessionStore`] on Redis, shared by every replica of the server: a session created or
//! deleted through one replica is seen at once by all the others.
//!
//! Layout: one key `om:session:<session id>` per session, whose value is the session's subject,
//! written with `SET key subject EX <ttl seconds>` so that Redis expires it by itself; and per
//! subject a sorted set `om:user-sessions:<subject>` of its session ids scored by their expiry
//! (milliseconds, Redis's clock), so that all of a user's sessions can be ended at once. The set
//! drops expired ids whenever a session is added and expires with the last session: it holds
//! the live sessions only.
//!
//! Availability: the pool connects lazily, so the server starts (and keeps answering what does
//! not need sessions) while Redis is down. Every call, pool acquire and command together, is
//! bounded by [`RedisSettings::timeout`]: while Redis is down or stuck, calls fail within about
//! that time with [`SessionStoreUnavailable`] instead of hanging. Connections broken by a Redis
//! restart are dropped from the pool (at once after a failed command, otherwise by the pool's
//! PING on checkout), so calls succeed again as soon as Redis is back, with the same store.

use std::fmt;
use std::time::Duration;

use application::ports::{SessionStore, SessionStoreUnavailable, session_ttl_secs};
use async_trait::async_trait;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Cmd, FromRedisValue, RedisError};
use deadpool_redis::{Connection, Manager, Pool, PoolError, Runtime};

use super::connection::{RedisSettings, open_client, redact_url};

/// The prefix of every session key.
pub const SESSION_KEY_PREFIX: &str = "om:session:";
/// The prefix of the per-subject index of sessions.
pub const USER_SESSIONS_PREFIX: &str = "om:user-sessions:";

/// Creates a session and indexes it under its subject, atomically.
/// KEYS: session key, subject's index; ARGV: subject, TTL in seconds, session id.
const CREATE_SCRIPT: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
redis.call('ZADD', KEYS[2], now_ms + ttl * 1000, ARGV[3])
if redis.call('TTL', KEYS[2]) < ttl then
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
";

/// Ends every session in a subject's index, atomically; returns how many were live.
/// KEYS: subject's index; ARGV: the session key prefix.
const DELETE_ALL_SCRIPT: &str = r"
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local ended = 0
for _, id in ipairs(ids) do
  ended = ended + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return ended
";

/// Sessions in Redis, through a deadpool connection pool.
pub struct RedisSessionStore {
    pool: Pool,
    /// The URL without its password, for Debug.
    redacted_url: String,
    timeout: Duration,
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("url", &self.redacted_url)
            .field("pool_size", &self.pool.status().max_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisSessionStore {
    /// Builds the pool without connecting: Redis may be down now and come up later.
    ///
    /// Fails only on settings that can never work (a URL that does not parse, a pool size or
    /// timeout of zero); the message never includes the URL, which may hold a password.
    pub fn connect(settings: &RedisSettings) -> Result<Self, SessionStoreUnavailable> {
        if settings.pool_size == 0 {
            return Err(SessionStoreUnavailable(
                "the Redis pool size must be at least 1".to_owned(),
            ));
        }
        if settings.timeout.is_zero() {
            return Err(SessionStoreUnavailable(
                "the Redis timeout must be more than zero".to_owned(),
            ));
        }
        let pool = build_pool(settings).map_err(SessionStoreUnavailable)?;
        Ok(Self {
            pool,
            redacted_url: redact_url(&settings.url),
            timeout: settings.timeout,
        })
    }

    /// Runs `cmd` on a pooled connection, the whole within `self.timeout`.
    async fn query<T: FromRedisValue>(
        &self,
        operation: &'static str,
        session_id: Option<&str>,
        cmd: &Cmd,
    ) -> Result<T, SessionStoreUnavailable> {
        let attempt = async {
            let mut connection = self.pool.get().await.map_err(Failure::Pool)?;
            match cmd.query_async::<T>(&mut connection).await {
                Ok(value) => Ok(value),
                Err(err) => {
                    if is_connection_broken(&err) {
                        // Not back into the pool: the next call gets a fresh connection
                        // instead of this dead one.
                        drop(Connection::take(connection));
                    }
                    Err(Failure::Redis(err))
                }
            }
        };
        let failure = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(failure)) => failure,
            Err(_elapsed) => Failure::TimedOut(self.timeout),
        };
        let message = failure.to_string();
        metrics::counter!("order_manager_redis_errors_total", "operation" => operation)
            .increment(1);
        match session_id {
            Some(id) => tracing::warn!(
                operation,
                session = %abbreviate(id),
                error = %message,
                "Redis session store call failed"
            ),
            None => tracing::warn!(operation, error = %message, "Redis session store call failed"),
        }
        Err(SessionStoreUnavailable(format!(
            "Redis {operation} failed: {message}"
        )))
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(
        &self,
        session_id: &str,
        subject: &str,
        ttl: Duration,
    ) -> Result<(), SessionStoreUnavailable> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(CREATE_SCRIPT)
            .arg(2)
            .arg(session_key(session_id))
            .arg(user_sessions_key(subject))
            .arg(subject)
            .arg(session_ttl_secs(ttl))
            .arg(session_id);
        self.query::<i64>("SET", Some(session_id), &cmd).await?;
        Ok(())
    }

    async fn delete_all_of(&self, subject: &str) -> Result<u64, SessionStoreUnavailable> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(DELETE_ALL_SCRIPT)
            .arg(1)
            .arg(user_sessions_key(subject))
            .arg(SESSION_KEY_PREFIX);
        let ended = self.query::<i64>("DEL_ALL", None, &cmd).await?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }

    async fn exists(&self, session_id: &str) -> Result<bool, SessionStoreUnavailable> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(session_key(session_id));
        let count = self.query::<i64>("EXISTS", Some(session_id), &cmd).await?;
        Ok(count > 0)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreUnavailable> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(session_key(session_id));
        // The number of keys deleted: 0 for an unknown or expired session, which is fine.
        self.query::<i64>("DEL", Some(session_id), &cmd).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), SessionStoreUnavailable> {
        let reply = self
            .query::<String>("PING", None, &redis::cmd("PING"))
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            tracing::warn!(reply = %reply, "Redis answered PING with something else than PONG");
            Err(SessionStoreUnavailable(format!(
                "Redis answered PING with {reply:?}"
            )))
        }
    }
}

/// A pool that connects lazily, with every step (connecting, waiting for a connection,
/// recycling one, each command) bounded by `settings.timeout`. Shared by the Redis adapters.
pub(crate) fn build_pool(settings: &RedisSettings) -> Result<Pool, String> {
    let timeout = Some(settings.timeout);
    // Connecting and each command are bounded on their own too, so that a broken
    // connection is noticed by redis itself, not only by our overall timeout.
    let connection_config = AsyncConnectionConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout);
    let client = open_client(&settings.url)?;
    let manager = Manager::new_with_config(client.get_connection_info().clone(), connection_config)
        .map_err(|err| format!("invalid Redis URL: {err}"))?;
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        // Needed for the timeouts above to apply at all.
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|err| format!("could not build the Redis pool: {err}"))
}

/// Why a call failed, before it becomes a [`SessionStoreUnavailable`].
enum Failure {
    Pool(PoolError),
    Redis(RedisError),
    TimedOut(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pool(err) => write!(f, "no connection: {err}"),
            Self::Redis(err) => write!(f, "{err}"),
            Self::TimedOut(timeout) => write!(f, "no answer within {timeout:?}"),
        }
    }
}

/// Whether the connection is no longer usable after `err` (as opposed to, say, a Redis error
/// reply, after which the connection is fine).
pub(crate) fn is_connection_broken(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

/// The Redis key of a session.
pub fn session_key(session_id: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{session_id}")
}

/// The Redis key of a subject's index of sessions.
pub fn user_sessions_key(subject: &str) -> String {
    format!("{USER_SESSIONS_PREFIX}{subject}")
}

/// At most the first 8 characters of a session id, for logs: enough to correlate, too few to
/// replay.
pub(crate) fn abbreviate(session_id: &str) -> String {
    let mut chars = session_id.chars();
    let head: String = chars.by_ref().take(8).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviates_long_ids_only() {
        assert_eq!(abbreviate("abc"), "abc");
        assert_eq!(abbreviate("12345678"), "12345678");
        assert_eq!(abbreviate("123456789abcdef"), "12345678…");
        assert_eq!(abbreviate("ééééééééé"), "éééééééé…");
    }

    #[test]
    fn keys_are_prefixed() {
        assert_eq!(session_key("abc"), "om:session:abc");
    }
}
