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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_object_is_a_batch_of_one_and_scalars_and_empty_bodies_are_refused() {
        let one = batch_from_slice(br#"{"orderId": "1"}"#).unwrap();
        assert_eq!(one.len(), 1);
        assert!(batch_from_slice(br#""orders""#).is_err());
        assert!(batch_from_slice(b" \n").is_err());
        assert!(batch_from_slice(b"[{}] x").is_err());
    }
}
