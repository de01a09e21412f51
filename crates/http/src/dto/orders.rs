//! `POST /orders`: the request body mapped to raw application input, and the success answer.

use application::raw_input::RawOrder;
use serde::Serialize;

use super::raw_orders::{Body, body_from_slice};
use crate::Problem;

/// The success answer: `{"status":"ok","accepted":1,"duplicates":0}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "ok", "accepted": 1, "duplicates": 0}))]
pub(crate) struct SubmitResponse {
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: &'static str,
    /// Orders newly stored.
    pub accepted: usize,
    /// Orders already stored with the same content (nothing stored for them).
    pub duplicates: usize,
}

/// A batch is a JSON array of orders; a single order object is accepted as a batch of one.
/// Parsed strictly in one pass (see [`super::raw_orders`]).
pub(crate) fn batch_from_slice(body: &[u8]) -> Result<Vec<RawOrder>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed_json("the request body is empty"));
    }
    match body_from_slice(body) {
        Ok(Body::Batch(orders)) => Ok(orders),
        Ok(Body::Other(kind)) => Err(Problem::bad_request(format!(
            "the body must be an array of orders or one order object, got {kind}"
        ))),
        Err(e) => Err(Problem::malformed_json(format!("invalid JSON: {e}"))),
    }
}

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

    #[test]
    fn a_single_object_is_a_batch_of_one_and_scalars_and_empty_bodies_are_refused() {
        let one = batch_from_slice(br#"{"orderId": "1"}"#).unwrap();
        assert_eq!(one.len(), 1);
        assert!(batch_from_slice(br#""orders""#).is_err());
        assert!(batch_from_slice(b" \n").is_err());
        assert!(batch_from_slice(b"[{}] x").is_err());
    }
}
