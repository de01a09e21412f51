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
    #[error(
        "must not contain invisible format characters (found U+{code:04X} at character {position})"
    )]
    FormatCharacter { code: u32, position: usize },
    #[error("must not be only whitespace")]
    Blank,
}

/// The Unicode format characters (general category Cf, Unicode 16), as inclusive ranges.
///
/// Refused in ids: they are invisible, so two ids that print the same can differ (a zero-width
/// space), and bidi overrides make an id display as another one in every back office.
pub const FORMAT_CHARACTERS: [(char, char); 21] = [
    ('\u{AD}', '\u{AD}'),
    ('\u{600}', '\u{605}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{6DD}', '\u{6DD}'),
    ('\u{70F}', '\u{70F}'),
    ('\u{890}', '\u{891}'),
    ('\u{8E2}', '\u{8E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Whitespace (Unicode White_Space) other than the control characters: an id may contain it,
/// but not consist of it alone.
const SPACES: [(char, char); 8] = [
    (' ', ' '),
    ('\u{A0}', '\u{A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

fn is_format(c: char) -> bool {
    FORMAT_CHARACTERS
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&c))
}

/// The rule of [`check_id`] but the length as one regular expression, for the API's schema
/// (JSON Schema `pattern`): no control or format character, and at least one character that is
/// not whitespace. Characters of the Basic Multilingual Plane are written `\uXXXX`, which
/// ECMA-262, Python's `re` and Rust's `regex` read alike; the few beyond it as themselves, as
/// no escape of theirs is common to the three.
pub fn id_pattern() -> String {
    let escaped = |c: char| match u32::from(c) {
        code @ 0x20..=0x7E => char::from_u32(code).map_or_else(String::new, String::from),
        code @ ..=0xFFFF => format!("\\u{code:04X}"),
        _ => c.to_string(),
    };
    let class = |ranges: &[(char, char)]| -> String {
        ranges
            .iter()
            .map(|(first, last)| {
                if first == last {
                    escaped(*first)
                } else {
                    format!("{}-{}", escaped(*first), escaped(*last))
                }
            })
            .collect()
    };
    let refused = format!("\\x00-\\x1F\\x7F-\\x9F{}", class(&FORMAT_CHARACTERS));
    let spaces = class(&SPACES);
    format!("^[^{refused}]*[^{refused}{spaces}][^{refused}]*$")
}

fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    let length = raw.chars().count();
    if length > MAX_ID_CHARS {
        return Err(IdError::TooLong { length });
    }
    for (position, c) in raw.chars().enumerate() {
        let code = u32::from(c);
        if c.is_control() {
            return Err(IdError::ControlCharacter { code, position });
        }
        if is_format(c) {
            return Err(IdError::FormatCharacter { code, position });
        }
    }
    if raw.chars().all(char::is_whitespace) {
        return Err(IdError::Blank);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts an id of 1 to 64 characters without control or format characters, and not
            /// only whitespace.
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

    #[test]
    fn rejects_blank_ids_and_invisible_format_characters() {
        for blank in [" ", "   ", "\u{A0}", "\u{3000}\u{2003}"] {
            assert_eq!(CustomerId::parse(blank), Err(IdError::Blank), "{blank:?}");
        }
        assert!(
            CustomerId::parse(" 01 ").is_ok(),
            "spaces around are kept, exactly"
        );
        assert_eq!(
            OrderId::parse("50\u{200B}"),
            Err(IdError::FormatCharacter {
                code: 0x200B,
                position: 2
            })
        );
        for sneaky in [
            "\u{202E}abc",
            "a\u{2066}b",
            "\u{FEFF}x",
            "x\u{E0041}",
            "\u{AD}",
        ] {
            assert!(ItemId::parse(sneaky).is_err(), "{sneaky:?}");
        }
    }

    /// Every character, in one string: the Unicode tables are checked in one regex pass.
    fn every_char() -> String {
        (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .collect()
    }

    #[test]
    fn the_format_table_is_unicode_category_cf() {
        let cf = regex::Regex::new(r"\p{Cf}").unwrap();
        let all = every_char();
        let expected: Vec<char> = cf
            .find_iter(&all)
            .flat_map(|found| found.as_str().chars())
            .collect();
        let table: Vec<char> = all.chars().filter(|c| is_format(*c)).collect();
        assert_eq!(table, expected);
    }

    #[test]
    fn the_space_table_is_white_space_without_controls() {
        let in_table = |c: char| SPACES.iter().any(|(a, b)| (*a..=*b).contains(&c));
        for c in every_char().chars() {
            assert_eq!(in_table(c), c.is_whitespace() && !c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn the_schema_pattern_accepts_exactly_what_parse_accepts() {
        let pattern = regex::Regex::new(&id_pattern()).unwrap();
        // Every range boundary and its neighbours, ASCII, and a stride through the rest.
        let mut chars: Vec<char> = (0..0x250).filter_map(char::from_u32).collect();
        for (first, last) in FORMAT_CHARACTERS.iter().chain(SPACES.iter()) {
            for code in [u32::from(*first), u32::from(*last)] {
                chars.extend((code.saturating_sub(1)..=code + 1).filter_map(char::from_u32));
            }
        }
        chars.extend(
            (0..=u32::from(char::MAX))
                .step_by(97)
                .filter_map(char::from_u32),
        );
        for c in chars {
            for id in [
                c.to_string(),
                format!("a{c}"),
                format!("{c} "),
                format!("{c}{c}"),
            ] {
                assert_eq!(
                    pattern.is_match(&id),
                    check_id(&id).is_ok(),
                    "{id:?}: the pattern and parse disagree"
                );
            }
        }
    }
}
