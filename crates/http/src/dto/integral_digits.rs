//! Integral JSON numbers in any notation, reduced to their digits.

/// The digits of an integral number written in any notation (`1637245070513.0`,
/// `1.637245070513e12`), or `None` when it is not integral.
pub(crate) fn integral_digits(text: &str) -> Option<String> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    // Where the decimal point falls in `digits`; beyond 40 digits no timestamp is plausible.
    let point = i64::try_from(whole.len()).ok()?.checked_add(exponent)?;
    if !(0..=40).contains(&point) {
        return None;
    }
    let point = usize::try_from(point).ok()?;
    if point >= digits.len() {
        return Some(format!("{digits}{}", "0".repeat(point - digits.len())));
    }
    let (integer, rest) = digits.split_at(point);
    (rest.bytes().all(|b| b == b'0')).then(|| {
        if integer.is_empty() {
            "0".to_owned()
        } else {
            integer.to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_numbers_become_digits_whatever_their_notation() {
        for integral in [
            "1637245070513",
            "1637245070513.0",
            "1.637245070513e12",
            "16372450705130e-1",
        ] {
            let digits = integral_digits(integral);
            assert_eq!(digits.as_deref(), Some("1637245070513"), "{integral}");
        }
        assert_eq!(integral_digits("0.0").as_deref(), Some("0"));
        for not_integral in ["1.5", "1e-1", "-1", "1e99", "abc", ".5", "1.2.3"] {
            assert_eq!(integral_digits(not_integral), None, "{not_integral}");
        }
    }
}
