use async_trait::async_trait;
use domain::{Scopes, Username};
use thiserror::Error;

use super::{PasswordHash, StoreError};

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub username: Username,
    pub password_hash: PasswordHash,
    pub scopes: Scopes,
}

/// Why a user could not be added.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddUserError {
    #[error("the username is taken")]
    AlreadyExists,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// User accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn find(&self, username: &Username) -> Result<Option<UserRecord>, StoreError>;
    async fn add(&self, user: &UserRecord) -> Result<(), AddUserError>;
    async fn count(&self) -> Result<u64, StoreError>;
}
