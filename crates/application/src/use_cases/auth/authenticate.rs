use std::sync::Arc;

use thiserror::Error;

use super::api_key_format;
use super::api_key_usage::ApiKeyUsage;
use crate::ports::{ApiKeyStore, Clock, SessionStore, StoreError, TokenCodec, TokenError};
use crate::principal::{Credential, Principal};

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("invalid bearer token: {0}")]
    InvalidToken(TokenError),
    #[error("the session has ended; log in again")]
    SessionEnded,
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("the API key has been revoked")]
    RevokedApiKey,
    /// The credentials could not be checked: a dependency is down. Not the caller's fault.
    #[error("credentials cannot be checked right now: {0}")]
    Unavailable(String),
}

/// Use case: recognize a caller from a bearer token or an API key.
#[derive(Clone)]
pub struct Authenticate {
    tokens: Arc<dyn TokenCodec>,
    sessions: Arc<dyn SessionStore>,
    api_keys: Arc<dyn ApiKeyStore>,
    usage: Arc<ApiKeyUsage>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticate").finish_non_exhaustive()
    }
}

impl Authenticate {
    pub fn new(
        tokens: Arc<dyn TokenCodec>,
        sessions: Arc<dyn SessionStore>,
        api_keys: Arc<dyn ApiKeyStore>,
        usage: Arc<ApiKeyUsage>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tokens,
            sessions,
            api_keys,
            usage,
            clock,
        }
    }

    /// A token is valid when its signature and claims are, and its session still exists.
    pub async fn bearer(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.tokens.verify(token).map_err(AuthError::InvalidToken)?;
        let alive = self
            .sessions
            .exists(&claims.session_id)
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        if !alive {
            return Err(AuthError::SessionEnded);
        }
        Ok(Principal {
            credential: Credential::Session {
                username: claims.subject,
                session_id: claims.session_id,
            },
            scopes: claims.scopes,
        })
    }

    /// A key is valid when its digest is stored and it is not revoked.
    pub async fn api_key(&self, key: &str) -> Result<Principal, AuthError> {
        if api_key_format::prefix(key).is_none() {
            return Err(AuthError::InvalidApiKey);
        }
        let record = self
            .api_keys
            .find_by_digest(&api_key_format::digest(key))
            .await
            .map_err(|e| match e {
                StoreError::Unavailable(e)
                | StoreError::Contention(e)
                | StoreError::Internal(e) => AuthError::Unavailable(e),
            })?
            .ok_or(AuthError::InvalidApiKey)?;
        if record.revoked_at.is_some() {
            return Err(AuthError::RevokedApiKey);
        }
        self.usage.note(&record.prefix, self.clock.now_millis());
        Ok(Principal {
            credential: Credential::ApiKey {
                prefix: record.prefix,
            },
            scopes: record.scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::{Scope, Scopes};

    use super::*;
    use crate::ports::{
        ApiKeyRecord, MockApiKeyStore, MockClock, MockSessionStore, MockTokenCodec, SessionClaims,
        SessionStoreUnavailable,
    };

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(5u64);
        Arc::new(clock)
    }

    fn authenticate(
        tokens: MockTokenCodec,
        sessions: MockSessionStore,
        keys: MockApiKeyStore,
    ) -> Authenticate {
        let keys: Arc<dyn ApiKeyStore> = Arc::new(keys);
        Authenticate::new(
            Arc::new(tokens),
            Arc::new(sessions),
            keys.clone(),
            Arc::new(ApiKeyUsage::new(keys)),
            clock(),
        )
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            subject: "alice".into(),
            session_id: "s1".into(),
            scopes: Scopes::new([Scope::OrdersWrite]),
            issued_at: 1,
            expires_at: 2,
        }
    }

    #[tokio::test]
    async fn a_token_counts_only_while_its_session_lives() {
        let mut tokens = MockTokenCodec::new();
        tokens.expect_verify().returning(|t| match t {
            "good" => Ok(claims()),
            _ => Err(TokenError::BadSignature),
        });
        let mut sessions = MockSessionStore::new();
        let mut calls = 0;
        sessions.expect_exists().returning(move |_| {
            calls += 1;
            match calls {
                1 => Ok(true),
                2 => Ok(false),
                _ => Err(SessionStoreUnavailable("down".into())),
            }
        });
        let uc = authenticate(tokens, sessions, MockApiKeyStore::new());
        let principal = uc.bearer("good").await.unwrap();
        assert_eq!(principal.label(), "user:alice");
        assert_eq!(uc.bearer("good").await, Err(AuthError::SessionEnded));
        assert!(matches!(
            uc.bearer("good").await,
            Err(AuthError::Unavailable(_))
        ));
        assert_eq!(
            uc.bearer("forged").await,
            Err(AuthError::InvalidToken(TokenError::BadSignature))
        );
    }

    #[tokio::test]
    async fn api_keys_are_looked_up_by_digest_and_revocation_counts() {
        let good = api_key_format::generate();
        let revoked = api_key_format::generate();
        let (good_digest, revoked_digest) = (
            api_key_format::digest(&good),
            api_key_format::digest(&revoked),
        );
        let mut keys = MockApiKeyStore::new();
        keys.expect_find_by_digest().returning(move |digest| {
            let record = |revoked_at| ApiKeyRecord {
                prefix: "omk_12345678".into(),
                digest: digest.to_owned(),
                name: "shop".into(),
                scopes: Scopes::new([Scope::CustomersRead]),
                created_at: 1,
                revoked_at,
                last_used_at: None,
            };
            Ok(if digest == good_digest {
                Some(record(None))
            } else if digest == revoked_digest {
                Some(record(Some(3)))
            } else {
                None
            })
        });
        let uc = authenticate(MockTokenCodec::new(), MockSessionStore::new(), keys);
        assert_eq!(uc.api_key(&good).await.unwrap().label(), "key:omk_12345678");
        assert_eq!(uc.api_key(&revoked).await, Err(AuthError::RevokedApiKey));
        assert_eq!(
            uc.api_key(&api_key_format::generate()).await,
            Err(AuthError::InvalidApiKey)
        );
        assert_eq!(uc.api_key("nonsense").await, Err(AuthError::InvalidApiKey));
    }
}
