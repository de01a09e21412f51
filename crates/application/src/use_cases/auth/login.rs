use std::sync::Arc;
use std::time::Duration;

use domain::{Password, Username};
use rand::RngCore;
use thiserror::Error;

use crate::ports::{
    Clock, HashingError, PasswordHasher, SessionClaims, SessionStore, StoreError, TokenCodec,
    UserStore,
};

/// A bearer token and how long it lives.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in_secs: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in_secs", &self.expires_in_secs)
            .finish()
    }
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    /// Unknown user or wrong password: deliberately the same answer.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    #[error("login failed: {0}")]
    Internal(String),
}

impl From<StoreError> for LoginError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(e) | StoreError::Contention(e) => LoginError::Unavailable(e),
            StoreError::Internal(e) => LoginError::Internal(e),
        }
    }
}

/// Use case: exchange a username and password for a bearer token backed by a session.
#[derive(Clone)]
pub struct Login {
    users: Arc<dyn UserStore>,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Arc<dyn SessionStore>,
    tokens: Arc<dyn TokenCodec>,
    clock: Arc<dyn Clock>,
    token_ttl: Duration,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

impl Login {
    pub fn new(
        users: Arc<dyn UserStore>,
        hasher: Arc<dyn PasswordHasher>,
        sessions: Arc<dyn SessionStore>,
        tokens: Arc<dyn TokenCodec>,
        clock: Arc<dyn Clock>,
        token_ttl: Duration,
    ) -> Self {
        Self {
            users,
            hasher,
            sessions,
            tokens,
            clock,
            token_ttl,
        }
    }

    pub async fn execute(&self, username: &str, password: &str) -> Result<IssuedToken, LoginError> {
        // An oversized password is refused before any hashing work (a denial-of-service guard).
        let password = Password::presented(password).map_err(|_| LoginError::InvalidCredentials)?;
        let user = match Username::parse(username) {
            Ok(name) => self.users.find(&name).await?,
            Err(_) => None,
        };
        // Unknown users are verified against a dummy hash: the same work, so the answer time
        // does not tell whether a username exists.
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.hasher.dummy_hash());
        let matches = self
            .hasher
            .verify(&password, &hash)
            .await
            .map_err(|e| match e {
                // A full hashing queue is load, not a fault: retry shortly.
                HashingError::Busy => LoginError::Unavailable(e.to_string()),
                HashingError::Failed(_) => LoginError::Internal(e.to_string()),
            })?;
        // A disabled user gets the same answer as a wrong password, after the same work.
        let user = match user {
            Some(user) if matches && !user.disabled => user,
            _ => return Err(LoginError::InvalidCredentials),
        };

        let session_id = new_session_id();
        self.sessions
            .create(&session_id, user.username.as_str(), self.token_ttl)
            .await
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let issued_at = self.clock.now_millis() / 1000;
        let expires_in_secs = self.token_ttl.as_secs().max(1);
        let claims = SessionClaims {
            subject: user.username.as_str().to_owned(),
            session_id,
            scopes: user.scopes,
            issued_at,
            expires_at: issued_at + expires_in_secs,
        };
        let access_token = self
            .tokens
            .issue(&claims)
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        Ok(IssuedToken {
            access_token,
            expires_in_secs,
        })
    }
}

/// 128 random bits, hex: unguessable, and safe in a Redis key.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use domain::{Scope, Scopes};

    use super::*;
    use crate::ports::{
        MockClock, MockPasswordHasher, MockSessionStore, MockTokenCodec, MockUserStore,
        PasswordHash, SessionStoreUnavailable, UserRecord,
    };

    struct Mocks {
        users: MockUserStore,
        hasher: MockPasswordHasher,
        sessions: MockSessionStore,
        tokens: MockTokenCodec,
    }

    fn mocks() -> Mocks {
        let mut users = MockUserStore::new();
        // alice, and dora: disabled, with the same password.
        users.expect_find().returning(|name| {
            Ok(["alice", "dora"]
                .contains(&name.as_str())
                .then(|| UserRecord {
                    username: name.clone(),
                    password_hash: PasswordHash::new("alice-hash"),
                    scopes: Scopes::new([Scope::CustomersRead]),
                    disabled: name.as_str() == "dora",
                }))
        });
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_dummy_hash()
            .returning(|| PasswordHash::new("dummy-hash"));
        hasher.expect_verify().returning(|password, hash| {
            Ok(hash.as_str() == "alice-hash" && password.expose() == "correct horse")
        });
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_issue()
            .returning(|claims| Ok(format!("token-for-{}", claims.subject)));
        Mocks {
            users,
            hasher,
            sessions: MockSessionStore::new(),
            tokens,
        }
    }

    fn login(m: Mocks) -> Login {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(1_700_000_000_000u64);
        Login::new(
            Arc::new(m.users),
            Arc::new(m.hasher),
            Arc::new(m.sessions),
            Arc::new(m.tokens),
            Arc::new(clock),
            Duration::from_secs(900),
        )
    }

    #[tokio::test]
    async fn a_correct_password_opens_a_session_and_issues_a_token() {
        let mut m = mocks();
        m.sessions
            .expect_create()
            .times(1)
            .withf(|id, subject, ttl| {
                id.len() == 32 && subject == "alice" && *ttl == Duration::from_secs(900)
            })
            .returning(|_, _, _| Ok(()));
        let token = login(m).execute("alice", "correct horse").await.unwrap();
        assert_eq!(token.access_token, "token-for-alice");
        assert_eq!(token.expires_in_secs, 900);
        assert!(!format!("{token:?}").contains("token-for"));
    }

    #[tokio::test]
    async fn a_disabled_user_is_refused_like_a_wrong_password() {
        let mut m = mocks();
        m.sessions.expect_create().never();
        assert_eq!(
            login(m).execute("dora", "correct horse").await,
            Err(LoginError::InvalidCredentials)
        );
    }

    #[tokio::test]
    async fn a_full_hashing_queue_is_unavailable_not_a_fault_and_opens_no_session() {
        let mut m = mocks();
        m.hasher.checkpoint();
        m.hasher
            .expect_verify()
            .returning(|_, _| Err(HashingError::Busy));
        m.sessions.expect_create().never();
        assert!(matches!(
            login(m).execute("alice", "correct horse").await,
            Err(LoginError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn unknown_users_cost_a_dummy_verification_and_get_the_same_answer() {
        let mut m = mocks();
        m.hasher.checkpoint();
        m.hasher
            .expect_dummy_hash()
            .times(1)
            .returning(|| PasswordHash::new("dummy-hash"));
        m.hasher
            .expect_verify()
            .times(1)
            .withf(|_, hash| hash.as_str() == "dummy-hash")
            .returning(|_, _| Ok(false));
        m.sessions.expect_create().never();
        assert_eq!(
            login(m).execute("mallory", "correct horse").await,
            Err(LoginError::InvalidCredentials)
        );
    }

    #[tokio::test]
    async fn wrong_passwords_and_malformed_names_are_refused_alike() {
        let mut m = mocks();
        m.sessions.expect_create().never();
        let uc = login(m);
        assert_eq!(
            uc.execute("alice", "wrong").await,
            Err(LoginError::InvalidCredentials)
        );
        assert_eq!(
            uc.execute("not a name!", "correct horse").await,
            Err(LoginError::InvalidCredentials)
        );
        assert_eq!(
            uc.execute("alice", &"x".repeat(5000)).await,
            Err(LoginError::InvalidCredentials)
        );
    }

    #[tokio::test]
    async fn a_session_store_outage_is_reported_as_unavailable() {
        let mut m = mocks();
        m.sessions
            .expect_create()
            .returning(|_, _, _| Err(SessionStoreUnavailable("timeout".into())));
        assert!(matches!(
            login(m).execute("alice", "correct horse").await,
            Err(LoginError::Unavailable(_))
        ));
    }
}
