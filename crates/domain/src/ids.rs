use std::fmt;

use thiserror::Error;

/// Longest id accepted, in characters: long enough for UUIDs and SKUs, short enough to index.
pub const MAX_ID_CHARS: usize = 64;

/// Why a string is not a valid customer, order or item id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_ID_CHARS} characters, got {length}")]
    TooLong { length: usize },
    #[error("must not contain control characters (found U+{code:04X} at character {position})")]
    ControlCharacter { code: u32, position: usize },
}

fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    let length = raw.chars().count();
    if length > MAX_ID_CHARS {
        return Err(IdError::TooLong { length });
    }
    if let Some((position, c)) = raw.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(IdError::ControlCharacter {
            code: u32::from(c),
            position,
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts a non-empty id of at most 64 characters without control characters.
            /// Ids are compared exactly: `"01"` and `"1"` are different ids.
            pub fn parse(raw: impl Into<String>) -> Result<Self, IdError> {
                let raw = raw.into();
                check_id(&raw)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// The shop's identifier of a customer.
    CustomerId
);
id_type!(
    /// The shop's identifier of an order; unique across the store, the key of idempotency.
    OrderId
);
id_type!(
    /// The shop's identifier of a purchased article.
    ItemId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_keeps_them_verbatim() {
        assert_eq!(CustomerId::parse("01").unwrap().as_str(), "01");
        assert_ne!(
            CustomerId::parse("01").unwrap(),
            CustomerId::parse("1").unwrap()
        );
        assert!(ItemId::parse("ü-ß-日本").is_ok());
        assert!(OrderId::parse("x".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(CustomerId::parse(""), Err(IdError::Empty));
        assert_eq!(
            OrderId::parse("é".repeat(65)),
            Err(IdError::TooLong { length: 65 })
        );
        assert_eq!(
            ItemId::parse("ab\u{0}c"),
            Err(IdError::ControlCharacter {
                code: 0,
                position: 2
            })
        );
        assert!(ItemId::parse("a\nb").is_err());
        assert!(ItemId::parse("a\u{7f}").is_err());
    }
}
