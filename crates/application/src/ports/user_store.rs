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
    /// A disabled user cannot log in (`order-manager user disable`).
    pub disabled: bool,
}

/// A user as `order-manager user list` shows it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub username: Username,
    pub scopes: Scopes,
    /// Epoch milliseconds.
    pub created_at: u64,
    /// Epoch milliseconds; `None` while enabled.
    pub disabled_at: Option<u64>,
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
    /// Every user, by username.
    async fn list(&self) -> Result<Vec<UserSummary>, StoreError>;
    /// Disables the user as of `at` (epoch milliseconds), or enables it (`None`); false when
    /// there is no such user.
    async fn set_disabled(&self, username: &Username, at: Option<u64>) -> Result<bool, StoreError>;
    /// Replaces the user's password hash; false when there is no such user.
    async fn set_password_hash(
        &self,
        username: &Username,
        hash: &PasswordHash,
    ) -> Result<bool, StoreError>;
}
