use std::sync::Arc;

use domain::{Password, Scope, Scopes, Username};
use thiserror::Error;

use crate::ports::{AddUserError, PasswordHasher, UserRecord, UserStore};

/// Why a user could not be added.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddUserFailure {
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error("a user needs at least one scope")]
    NoScopes,
    #[error("the user `{0}` already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Failed(String),
}

/// Use case (admin): create a user with a hashed password and scopes.
#[derive(Clone)]
pub struct AddUser {
    users: Arc<dyn UserStore>,
    hasher: Arc<dyn PasswordHasher>,
}

impl std::fmt::Debug for AddUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddUser").finish_non_exhaustive()
    }
}

impl AddUser {
    pub fn new(users: Arc<dyn UserStore>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { users, hasher }
    }

    pub async fn execute(
        &self,
        username: &str,
        password: &str,
        scopes: &[Scope],
    ) -> Result<(), AddUserFailure> {
        let username = Username::parse(username)
            .map_err(|e| AddUserFailure::InvalidUsername(e.to_string()))?;
        let password = Password::new_credential(password)
            .map_err(|e| AddUserFailure::InvalidPassword(e.to_string()))?;
        if scopes.is_empty() {
            return Err(AddUserFailure::NoScopes);
        }
        let password_hash = self
            .hasher
            .hash(&password)
            .await
            .map_err(|e| AddUserFailure::Failed(e.to_string()))?;
        let record = UserRecord {
            username: username.clone(),
            password_hash,
            scopes: Scopes::new(scopes.iter().copied()),
            disabled: false,
        };
        self.users.add(&record).await.map_err(|e| match e {
            AddUserError::AlreadyExists => AddUserFailure::AlreadyExists(username.to_string()),
            AddUserError::Store(e) => AddUserFailure::Failed(e.to_string()),
        })
    }

    /// Whether any user exists yet (to bootstrap the embedded default with an admin).
    pub async fn any_user_exists(&self) -> Result<bool, AddUserFailure> {
        self.users
            .count()
            .await
            .map(|n| n > 0)
            .map_err(|e| AddUserFailure::Failed(e.to_string()))
    }
}
