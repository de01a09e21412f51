//! Use case (admin): list users, disable and enable them, change a password, end a user's
//! sessions. Disabling a user and changing a password end every session of the user at once,
//! so a compromised account stops working everywhere, not when its token expires.

use std::sync::Arc;

use domain::{Password, Username};
use thiserror::Error;

use crate::ports::{Clock, PasswordHasher, SessionStore, UserStore, UserSummary};

/// Why a user command failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserLifecycleError {
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error("there is no user `{0}`")]
    UnknownUser(String),
    #[error("{0}")]
    Failed(String),
}

/// Lists, disables, enables users, changes passwords and ends sessions.
#[derive(Clone)]
pub struct UserLifecycle {
    users: Arc<dyn UserStore>,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UserLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserLifecycle").finish_non_exhaustive()
    }
}

fn failed(err: impl std::fmt::Display) -> UserLifecycleError {
    UserLifecycleError::Failed(err.to_string())
}

impl UserLifecycle {
    pub fn new(
        users: Arc<dyn UserStore>,
        hasher: Arc<dyn PasswordHasher>,
        sessions: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            hasher,
            sessions,
            clock,
        }
    }

    /// Every user, by username.
    pub async fn list(&self) -> Result<Vec<UserSummary>, UserLifecycleError> {
        self.users.list().await.map_err(failed)
    }

    /// Disables the user (no more logins), then ends its sessions; returns how many ended.
    pub async fn disable(&self, username: &str) -> Result<u64, UserLifecycleError> {
        let username = parse(username)?;
        let now = self.clock.now_millis();
        self.found(
            &username,
            self.users.set_disabled(&username, Some(now)).await,
        )?;
        self.end_sessions(&username).await
    }

    /// Lets a disabled user log in again.
    pub async fn enable(&self, username: &str) -> Result<(), UserLifecycleError> {
        let username = parse(username)?;
        self.found(&username, self.users.set_disabled(&username, None).await)
    }

    /// Replaces the password (the same rules as `user add`), then ends the user's sessions;
    /// returns how many ended.
    pub async fn change_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<u64, UserLifecycleError> {
        let username = parse(username)?;
        let password = Password::new_credential(password)
            .map_err(|e| UserLifecycleError::InvalidPassword(e.to_string()))?;
        let hash = self.hasher.hash(&password).await.map_err(failed)?;
        self.found(
            &username,
            self.users.set_password_hash(&username, &hash).await,
        )?;
        self.end_sessions(&username).await
    }

    /// Ends every session of an existing user; returns how many ended.
    pub async fn revoke_sessions(&self, username: &str) -> Result<u64, UserLifecycleError> {
        let username = parse(username)?;
        if self.users.find(&username).await.map_err(failed)?.is_none() {
            return Err(UserLifecycleError::UnknownUser(username.to_string()));
        }
        self.end_sessions(&username).await
    }

    async fn end_sessions(&self, username: &Username) -> Result<u64, UserLifecycleError> {
        self.sessions
            .delete_all_of(username.as_str())
            .await
            .map_err(failed)
    }

    fn found(
        &self,
        username: &Username,
        updated: Result<bool, crate::ports::StoreError>,
    ) -> Result<(), UserLifecycleError> {
        match updated {
            Ok(true) => Ok(()),
            Ok(false) => Err(UserLifecycleError::UnknownUser(username.to_string())),
            Err(err) => Err(failed(err)),
        }
    }
}

fn parse(username: &str) -> Result<Username, UserLifecycleError> {
    Username::parse(username).map_err(|e| UserLifecycleError::InvalidUsername(e.to_string()))
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::ports::{
        MockClock, MockPasswordHasher, MockSessionStore, MockUserStore, PasswordHash,
    };

    struct Mocks {
        users: MockUserStore,
        hasher: MockPasswordHasher,
        sessions: MockSessionStore,
    }

    fn mocks() -> Mocks {
        Mocks {
            users: MockUserStore::new(),
            hasher: MockPasswordHasher::new(),
            sessions: MockSessionStore::new(),
        }
    }

    fn lifecycle(m: Mocks) -> UserLifecycle {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(1_700_000_000_000u64);
        UserLifecycle::new(
            Arc::new(m.users),
            Arc::new(m.hasher),
            Arc::new(m.sessions),
            Arc::new(clock),
        )
    }

    #[tokio::test]
    async fn disabling_marks_the_user_then_ends_its_sessions() {
        let mut m = mocks();
        let mut order = mockall::Sequence::new();
        m.users
            .expect_set_disabled()
            .withf(|name, at| name.as_str() == "alice" && *at == Some(1_700_000_000_000))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(true));
        m.sessions
            .expect_delete_all_of()
            .with(eq("alice"))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(2));
        assert_eq!(lifecycle(m).disable("alice").await, Ok(2));
    }

    #[tokio::test]
    async fn an_unknown_user_is_an_error_and_ends_nothing() {
        let mut m = mocks();
        m.users.expect_set_disabled().returning(|_, _| Ok(false));
        m.users.expect_find().returning(|_| Ok(None));
        m.sessions.expect_delete_all_of().never();
        let uc = lifecycle(m);
        assert_eq!(
            uc.disable("nobody").await,
            Err(UserLifecycleError::UnknownUser("nobody".into()))
        );
        assert!(uc.enable("nobody").await.is_err());
        assert!(uc.revoke_sessions("nobody").await.is_err());
    }

    #[tokio::test]
    async fn a_new_password_is_checked_hashed_stored_and_ends_the_sessions() {
        let mut m = mocks();
        m.hasher
            .expect_hash()
            .withf(|password| password.expose() == "a new long password")
            .returning(|_| Ok(PasswordHash::new("new-hash")));
        m.users
            .expect_set_password_hash()
            .withf(|name, hash| name.as_str() == "alice" && hash.as_str() == "new-hash")
            .times(1)
            .returning(|_, _| Ok(true));
        m.sessions
            .expect_delete_all_of()
            .times(1)
            .returning(|_| Ok(1));
        let uc = lifecycle(m);
        assert!(matches!(
            uc.change_password("alice", "short").await,
            Err(UserLifecycleError::InvalidPassword(_))
        ));
        assert_eq!(
            uc.change_password("alice", "a new long password").await,
            Ok(1)
        );
    }
}
