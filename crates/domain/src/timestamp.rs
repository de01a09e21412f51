use thiserror::Error;

/// 2000-01-01T00:00:00Z: no e-commerce order is older.
pub const MIN_TIMESTAMP_MS: u64 = 946_684_800_000;
/// 2100-01-01T00:00:00Z: anything later is a unit mistake (seconds vs. micro- or nanoseconds).
pub const MAX_TIMESTAMP_MS: u64 = 4_102_444_800_000;

/// Why a value is not a plausible order timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimestampError {
    #[error("`{value}` is not epoch milliseconds written with digits only")]
    NotDigits { value: String },
    #[error(
        "`{value}` is outside the plausible range of epoch milliseconds \
         ({MIN_TIMESTAMP_MS} = 2000-01-01 to {MAX_TIMESTAMP_MS} = 2100-01-01)"
    )]
    OutOfRange { value: String },
}

/// When the order was placed, in milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderTimestamp(u64);

impl OrderTimestamp {
    /// Accepts the digits of epoch milliseconds, as sent in a JSON string (canonical) or as the
    /// text of a JSON integer.
    pub fn parse_digits(text: &str) -> Result<Self, TimestampError> {
        let value = || text.chars().take(64).collect::<String>();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TimestampError::NotDigits { value: value() });
        }
        text.parse::<u64>()
            .ok()
            .and_then(Self::from_millis)
            .ok_or_else(|| TimestampError::OutOfRange { value: value() })
    }

    /// Builds a timestamp from milliseconds when they are in the plausible range.
    pub fn from_millis(millis: u64) -> Option<Self> {
        (MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS)
            .contains(&millis)
            .then_some(Self(millis))
    }

    pub fn millis(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sample() {
        let ts = OrderTimestamp::parse_digits("1637245070513").unwrap();
        assert_eq!(ts.millis(), 1_637_245_070_513);
    }

    #[test]
    fn rejects_non_digits_and_implausible_values() {
        for bad in [
            "",
            "-1",
            "+1637245070513",
            "1.6e12",
            "16372450705 13",
            "abc",
        ] {
            assert!(
                matches!(
                    OrderTimestamp::parse_digits(bad),
                    Err(TimestampError::NotDigits { .. })
                ),
                "{bad}"
            );
        }
        for bad in [
            "0",
            "1637245070",
            "1637245070513000",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(
                    OrderTimestamp::parse_digits(bad),
                    Err(TimestampError::OutOfRange { .. })
                ),
                "{bad}"
            );
        }
    }
}
