//! Who may do what: scopes, usernames, passwords. Secrets never show in `Debug` output.

use std::collections::BTreeSet;
use std::fmt;

use thiserror::Error;

/// A permission. Each route requires one; `admin` grants every scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `orders:write`: submit orders.
    OrdersWrite,
    /// `customers:read`: read customers' items and summaries.
    CustomersRead,
    /// `admin`: everything, including managing users and keys.
    Admin,
}

/// A scope name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown scope `{0}` (known: orders:write, customers:read, admin)")]
pub struct ScopeError(pub String);

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::OrdersWrite, Scope::CustomersRead, Scope::Admin];

    pub fn parse(name: &str) -> Result<Self, ScopeError> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| ScopeError(name.chars().take(64).collect()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OrdersWrite => "orders:write",
            Scope::CustomersRead => "customers:read",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes a user or API key holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().collect())
    }

    /// Parses a space-separated list (`"orders:write customers:read"`), as stored and in tokens.
    pub fn parse_list(list: &str) -> Result<Self, ScopeError> {
        list.split_whitespace()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Whether these scopes allow what `required` protects (`admin` allows everything).
    pub fn grants(&self, required: Scope) -> bool {
        self.0.contains(&required) || self.0.contains(&Scope::Admin)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

/// Why a username is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("a username must have 1 to 64 characters")]
    Length,
    #[error("a username may contain only letters, digits and . _ - @")]
    Characters,
}

/// A user's login name: 1 to 64 ASCII letters, digits or `._-@`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: impl Into<String>) -> Result<Self, UsernameError> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > 64 {
            return Err(UsernameError::Length);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
        {
            return Err(UsernameError::Characters);
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a password is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("a new password needs at least {MIN_NEW_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password may have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
}

pub const MIN_NEW_PASSWORD_CHARS: usize = 12;
/// Hashing cost grows with the input; longer "passwords" are a denial-of-service vector.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A clear-text password, only ever held in memory. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password presented at login: any length up to the maximum.
    pub fn presented(raw: impl Into<String>) -> Result<Self, PasswordError> {
        let raw = raw.into();
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw))
    }

    /// A password being set for a user: at least 12 characters.
    pub fn new_credential(raw: impl Into<String>) -> Result<Self, PasswordError> {
        let password = Self::presented(raw)?;
        if password.0.chars().count() < MIN_NEW_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything_and_others_only_themselves() {
        let admin = Scopes::parse_list("admin").unwrap();
        let reader = Scopes::parse_list("customers:read").unwrap();
        assert!(Scope::ALL.iter().all(|s| admin.grants(*s)));
        assert!(reader.grants(Scope::CustomersRead));
        assert!(!reader.grants(Scope::OrdersWrite));
        assert!(!reader.grants(Scope::Admin));
        assert_eq!(
            Scopes::parse_list("orders:write customers:read")
                .unwrap()
                .to_string(),
            "orders:write customers:read"
        );
        assert!(Scopes::parse_list("root").is_err());
    }

    #[test]
    fn usernames_and_passwords_have_bounds_and_secrets_stay_hidden() {
        assert!(Username::parse("alice.o-brien@shop").is_ok());
        assert_eq!(Username::parse(""), Err(UsernameError::Length));
        assert_eq!(Username::parse("a b"), Err(UsernameError::Characters));
        assert_eq!(
            Password::new_credential("short"),
            Err(PasswordError::TooShort)
        );
        assert!(Password::presented("x".repeat(2000)).is_err());
        let secret = Password::presented("hunter2-hunter2").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
