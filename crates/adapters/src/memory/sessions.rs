//! [`SessionStore`] in the server's memory: the default for the embedded single-process setup
//! (SQLite), where there is no other replica to share sessions with. Sessions are lost when the
//! process stops; several replicas need the Redis store instead.
//!
//! Expiry: an expired session is treated as absent at once, and removed when next looked up.
//! Others are pruned in bulk when the map has grown (amortised: each prune at least doubles the
//! size the next one waits for), so memory follows the live sessions, not every one ever made.
//!
//! Bound: at most [`DEFAULT_MAX_SESSIONS`] live sessions (or the number given to
//! [`InMemorySessionStore::with_capacity`]). When full after pruning expired ones, `create`
//! REFUSES a new session with [`SessionStoreUnavailable`] (replacing an existing one still
//! works), rather than evicting someone else's live session: a flood of logins then cannot log
//! anybody out, existing sessions keep working, and room frees up as sessions expire or end.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use application::ports::{SessionStore, SessionStoreUnavailable, session_ttl_secs};
use async_trait::async_trait;

/// The most live sessions an [`InMemorySessionStore::new`] holds (a few tens of MB with
/// typical ids and subjects).
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Below this many entries the map is never pruned in bulk: scanning it would cost more than
/// the memory it frees.
const MIN_PRUNE_AT: usize = 1024;

/// Sessions in a mutex-guarded map; cheap to share as `Arc<dyn SessionStore>`.
pub struct InMemorySessionStore {
    state: Mutex<State>,
    max_sessions: usize,
}

struct State {
    sessions: HashMap<String, Session>,
    /// The size at which `create` next prunes expired sessions.
    prune_at: usize,
}

struct Session {
    subject: String,
    expires_at: Instant,
}

impl Session {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl InMemorySessionStore {
    /// An empty store holding at most [`DEFAULT_MAX_SESSIONS`] live sessions.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MAX_SESSIONS)
    }

    /// An empty store holding at most `max_sessions` live sessions (at least 1).
    pub fn with_capacity(max_sessions: usize) -> Self {
        let max_sessions = max_sessions.max(1);
        Self {
            state: Mutex::new(State {
                sessions: HashMap::new(),
                prune_at: MIN_PRUNE_AT.min(max_sessions),
            }),
            max_sessions,
        }
    }

    /// The subject of a live session, if any.
    pub fn subject_of(&self, session_id: &str) -> Option<String> {
        let now = Instant::now();
        self.lock()
            .sessions
            .get(session_id)
            .filter(|session| session.is_live(now))
            .map(|session| session.subject.clone())
    }

    /// The number of entries held, expired ones not yet pruned included.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Locks the map, also after a panic elsewhere: every update is a single map operation,
    /// which cannot be left half-done.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemorySessionStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Never shows session ids: they are credentials.
impl fmt::Debug for InMemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySessionStore")
            .field("entries", &self.len())
            .field("max_sessions", &self.max_sessions)
            .finish()
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn create(
        &self,
        session_id: &str,
        subject: &str,
        ttl: Duration,
    ) -> Result<(), SessionStoreUnavailable> {
        let ttl = Duration::from_secs(session_ttl_secs(ttl));
        let now = Instant::now();
        let mut state = self.lock();
        let is_new = !state.sessions.contains_key(session_id);
        if is_new && state.sessions.len() >= state.prune_at {
            state.sessions.retain(|_, session| session.is_live(now));
            state.prune_at = state
                .sessions
                .len()
                .saturating_mul(2)
                .clamp(MIN_PRUNE_AT.min(self.max_sessions), self.max_sessions);
        }
        if is_new && state.sessions.len() >= self.max_sessions {
            tracing::warn!(
                max_sessions = self.max_sessions,
                "in-memory session store is full; refusing a new session"
            );
            return Err(SessionStoreUnavailable(format!(
                "the in-memory session store is full ({} live sessions)",
                self.max_sessions
            )));
        }
        state.sessions.insert(
            session_id.to_owned(),
            Session {
                subject: subject.to_owned(),
                expires_at: now + ttl,
            },
        );
        Ok(())
    }

    async fn exists(&self, session_id: &str) -> Result<bool, SessionStoreUnavailable> {
        let now = Instant::now();
        let mut state = self.lock();
        match state.sessions.get(session_id) {
            Some(session) if session.is_live(now) => Ok(true),
            Some(_) => {
                state.sessions.remove(session_id);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreUnavailable> {
        self.lock().sessions.remove(session_id);
        Ok(())
    }

    async fn delete_all_of(&self, subject: &str) -> Result<u64, SessionStoreUnavailable> {
        let now = Instant::now();
        let mut ended = 0;
        self.lock().sessions.retain(|_, session| {
            let theirs = session.subject == subject;
            if theirs && session.is_live(now) {
                ended += 1;
            }
            !theirs
        });
        Ok(ended)
    }

    async fn ping(&self) -> Result<(), SessionStoreUnavailable> {
        Ok(())
    }
}
