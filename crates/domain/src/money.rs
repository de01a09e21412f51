use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use thiserror::Error;

/// The largest amount one line item may cost: one billion euros. Far above any real price, far
/// below what could overflow a sum of millions of items in 64-bit cents.
pub const MAX_ITEM_CENTS: i64 = 100_000_000_000;

/// Most decimal places an amount may have: amounts are whole cents.
pub const MAX_DECIMAL_PLACES: u32 = 2;

/// Why a JSON number is not a valid amount of euros.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("`{value}` is not a number")]
    NotANumber { value: String },
    #[error("`{value}` is negative; amounts must be >= 0")]
    Negative { value: String },
    #[error("`{value}` has more than 2 decimal places")]
    TooPrecise { value: String },
    #[error("`{value}` is above the maximum of 1000000000 EUR")]
    TooLarge { value: String },
}

/// An exact, non-negative amount of euros, held as integer cents. Never a binary float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses the text of a JSON number (`2`, `18.5`, `0.10`, `1e2`) exactly, without going
    /// through floating point: >= 0, at most 2 significant decimal places, at most one billion.
    pub fn parse_decimal(text: &str) -> Result<Self, MoneyError> {
        let value = || text.chars().take(64).collect::<String>();
        let is_json_number = !text.is_empty()
            && text.len() <= 1024
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
        if !is_json_number {
            return Err(MoneyError::NotANumber { value: value() });
        }
        let decimal = if text.contains(['e', 'E']) {
            parse_scientific(text).ok_or_else(|| MoneyError::TooLarge { value: value() })?
        } else {
            Decimal::from_str_exact(text).map_err(|_| classify_unparsable(text, value()))?
        };
        if decimal.is_sign_negative() && !decimal.is_zero() {
            return Err(MoneyError::Negative { value: value() });
        }
        let decimal = decimal.normalize();
        if decimal.scale() > MAX_DECIMAL_PLACES {
            return Err(MoneyError::TooPrecise { value: value() });
        }
        let cents = decimal
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|c| c.to_i64())
            .filter(|c| *c <= MAX_ITEM_CENTS)
            .ok_or_else(|| MoneyError::TooLarge { value: value() })?;
        Ok(Money(cents.abs()))
    }

    /// Builds an amount from cents already known to be valid (read back from the store).
    pub fn from_cents(cents: i64) -> Option<Self> {
        (cents >= 0).then_some(Money(cents))
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The shortest exact decimal form: `2`, `18.5`, `12.2`, `0.01`.
    pub fn to_decimal_string(self) -> String {
        Decimal::new(self.0, 2).normalize().to_string()
    }
}

/// `1e400` or `1e-400` do not fit a Decimal; both are rejected (the first too large, the
/// second would need more than 2 decimals unless it is zero, which rust_decimal cannot tell us).
fn parse_scientific(text: &str) -> Option<Decimal> {
    Decimal::from_scientific(text).ok()
}

fn classify_unparsable(text: &str, value: String) -> MoneyError {
    let digits_only = text
        .trim_start_matches('-')
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.');
    if !digits_only || text.matches('.').count() > 1 || text.starts_with('.') {
        return MoneyError::NotANumber { value };
    }
    if text.starts_with('-') {
        return MoneyError::Negative { value };
    }
    // Valid digits that rust_decimal cannot hold exactly: either too many digits before the
    // point (too large) or too many after it (too precise).
    match text.split_once('.') {
        Some((_, fraction)) if fraction.trim_end_matches('0').len() > 2 => {
            MoneyError::TooPrecise { value }
        }
        _ => MoneyError::TooLarge { value },
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse_decimal(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(text: &str) -> i64 {
        Money::parse_decimal(text).unwrap().cents()
    }

    #[test]
    fn parses_exact_cents() {
        assert_eq!(cents("2"), 200);
        assert_eq!(cents("0"), 0);
        assert_eq!(cents("-0"), 0);
        assert_eq!(cents("18.5"), 1850);
        assert_eq!(cents("0.1"), 10);
        assert_eq!(cents("0.10"), 10);
        assert_eq!(cents("12.20000"), 1220);
        assert_eq!(cents("1e2"), 10000);
        assert_eq!(cents("1.5E1"), 1500);
        assert_eq!(cents("1000000000"), MAX_ITEM_CENTS);
    }

    #[test]
    fn rejects_bad_amounts_with_the_rule_and_value() {
        assert_eq!(
            Money::parse_decimal("-1"),
            Err(MoneyError::Negative { value: "-1".into() })
        );
        assert_eq!(
            Money::parse_decimal("0.001"),
            Err(MoneyError::TooPrecise {
                value: "0.001".into()
            })
        );
        assert!(matches!(
            Money::parse_decimal("1e400"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            Money::parse_decimal("1000000000.01"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            Money::parse_decimal("99999999999999999999999999999999999"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            Money::parse_decimal("0.0000000000000000000000000000000001"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::parse_decimal("1e-400"),
            Err(MoneyError::TooLarge { .. } | MoneyError::TooPrecise { .. })
        ));
        for bad in ["", "NaN", "Infinity", "abc", "1.2.3", " 1", "0x10"] {
            assert!(
                matches!(
                    Money::parse_decimal(bad),
                    Err(MoneyError::NotANumber { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn ten_dimes_make_exactly_one_euro() {
        let dime = Money::parse_decimal("0.1").unwrap();
        let total = (0..10).try_fold(Money::ZERO, |sum, _| sum.checked_add(dime));
        assert_eq!(total.unwrap().to_decimal_string(), "1");
    }

    #[test]
    fn prints_shortest_exact_form() {
        for (text, shown) in [
            ("2", "2"),
            ("18.50", "18.5"),
            ("12.2", "12.2"),
            ("0.01", "0.01"),
        ] {
            assert_eq!(Money::parse_decimal(text).unwrap().to_string(), shown);
        }
    }
}
