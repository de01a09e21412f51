use std::sync::Arc;

use thiserror::Error;

use crate::Principal;
use crate::ports::SessionStore;
use crate::principal::Credential;

/// Why a logout failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogoutError {
    #[error("API keys have no session; revoke the key instead")]
    NotASession,
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

/// Use case: end the caller's session, so that its token stops working on every replica.
#[derive(Clone)]
pub struct Logout {
    sessions: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for Logout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logout").finish_non_exhaustive()
    }
}

impl Logout {
    pub fn new(sessions: Arc<dyn SessionStore>) -> Self {
        Self { sessions }
    }

    pub async fn execute(&self, principal: &Principal) -> Result<(), LogoutError> {
        let Credential::Session { session_id, .. } = &principal.credential else {
            return Err(LogoutError::NotASession);
        };
        self.sessions
            .delete(session_id)
            .await
            .map_err(|e| LogoutError::Unavailable(e.to_string()))
    }
}
