use std::fmt;

use async_trait::async_trait;
use domain::Password;
use thiserror::Error;

/// A password hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). Not a secret in the
/// strict sense, but never logged either.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The hasher could not answer (not: the password was wrong).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HashingError {
    /// Every hashing slot and every place in its queue is taken: refused at once, so that a
    /// flood of logins waits nowhere; the caller answers "retry shortly".
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Slow, salted password hashing. Implementations run the work off the async executor.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError>;

    /// Whether `password` matches `hash`. A malformed hash is an error, not a mismatch.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashingError>;

    /// A valid hash of a random password, verified against when the user does not exist so that
    /// a login for an unknown user costs as much as one for a known user.
    fn dummy_hash(&self) -> PasswordHash;
}
