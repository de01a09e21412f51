//! Who is calling, once authenticated, and whether they may do what they ask.

use domain::{Scope, Scopes};
use thiserror::Error;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token of a login session.
    Session {
        username: String,
        session_id: String,
    },
    /// An API key, known by its public prefix.
    ApiKey { prefix: String },
}

/// An authenticated caller and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub credential: Credential,
    pub scopes: Scopes,
}

/// The caller is known but lacks the scope the operation requires.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("this operation requires the scope `{required}`")]
pub struct Forbidden {
    pub required: Scope,
}

impl Principal {
    /// The decision of authorization: allowed when the principal's scopes grant `required`.
    pub fn authorize(&self, required: Scope) -> Result<(), Forbidden> {
        if self.scopes.grants(required) {
            Ok(())
        } else {
            Err(Forbidden { required })
        }
    }

    /// For logs: `user:alice` or `key:omk_AbCdEfGh` (never a secret).
    pub fn label(&self) -> String {
        match &self.credential {
            Credential::Session { username, .. } => format!("user:{username}"),
            Credential::ApiKey { prefix } => format!("key:{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_follows_scopes() {
        let reader = Principal {
            credential: Credential::ApiKey {
                prefix: "omk_12345678".into(),
            },
            scopes: Scopes::new([Scope::CustomersRead]),
        };
        assert_eq!(reader.authorize(Scope::CustomersRead), Ok(()));
        assert_eq!(
            reader.authorize(Scope::OrdersWrite),
            Err(Forbidden {
                required: Scope::OrdersWrite
            })
        );
        assert_eq!(reader.label(), "key:omk_12345678");
    }
}
