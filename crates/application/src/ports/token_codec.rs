use domain::Scopes;
use thiserror::Error;

/// What a bearer token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The username (`sub`).
    pub subject: String,
    /// The server-side session the token belongs to; the token is valid only while it exists.
    pub session_id: String,
    pub scopes: Scopes,
    /// Seconds since the Unix epoch (`iat`).
    pub issued_at: u64,
    /// Seconds since the Unix epoch (`exp`).
    pub expires_at: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for someone else")]
    WrongAudience,
    #[error("the token could not be created: {0}")]
    Internal(String),
}

/// Signs and verifies bearer tokens. Pure computation: no I/O.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    fn issue(&self, claims: &SessionClaims) -> Result<String, TokenError>;
    fn verify(&self, token: &str) -> Result<SessionClaims, TokenError>;
}
