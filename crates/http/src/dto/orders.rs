//! `POST /orders`: the request body mapped to raw application input, and the success answer.

use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use serde::Serialize;
use serde_json::{Map, Value};

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
pub(crate) fn batch_from_json(body: Value) -> Result<Vec<RawOrder>, Problem> {
    match body {
        Value::Array(entries) => Ok(entries.into_iter().map(raw_order).collect()),
        Value::Object(fields) => Ok(vec![order_fields(fields)]),
        other => Err(Problem::bad_request(format!(
            "the body must be an array of orders or one order object, got {}",
            type_name(&other)
        ))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn raw_value(value: Option<Value>) -> RawValue {
    match value {
        None => RawValue::Missing,
        Some(Value::String(text)) => RawValue::Text(text),
        // With serde_json's `arbitrary_precision`, this is the exact text the client wrote.
        Some(Value::Number(number)) => RawValue::Number(number.to_string()),
        Some(other) => RawValue::Other(type_name(&other)),
    }
}

pub(crate) fn raw_order(value: Value) -> RawOrder {
    match value {
        Value::Object(fields) => order_fields(fields),
        other => RawOrder::NotAnObject(type_name(&other)),
    }
}

fn order_fields(mut fields: Map<String, Value>) -> RawOrder {
    let customer_id = raw_value(fields.remove("customerId"));
    let order_id = raw_value(fields.remove("orderId"));
    let timestamp = match raw_value(fields.remove("timestamp")) {
        // A JSON integer may be written `1637245070513.0` or `1.637245070513e12`.
        RawValue::Number(text) => RawValue::Number(integral_digits(&text).unwrap_or(text)),
        other => other,
    };
    let items = match fields.remove("items") {
        None => RawItems::Missing,
        Some(Value::Array(items)) => RawItems::List(items.into_iter().map(raw_item).collect()),
        Some(other) => RawItems::NotAList(type_name(&other)),
    };
    RawOrder::Object(RawOrderFields {
        customer_id,
        order_id,
        timestamp,
        items,
        unknown_fields: fields.into_iter().map(|(key, _)| key).collect(),
    })
}

/// The digits of a JSON number whose value is a non-negative integer, however it is written
/// (`12.0`, `1.2e1`, `120e-1`); `None` for anything else (left to the validation to refuse).
fn integral_digits(text: &str) -> Option<String> {
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

fn raw_item(value: Value) -> RawItem {
    match value {
        Value::Object(mut fields) => RawItem::Object {
            item_id: raw_value(fields.remove("itemId")),
            cost_eur: raw_value(fields.remove("costEur")),
            unknown_fields: fields.into_iter().map(|(key, _)| key).collect(),
        },
        other => RawItem::NotAnObject(type_name(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_canonical_sample() {
        let body = crate::json_body::parse(
            br#"[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"20201","costEur":2}]}]"#,
        )
        .unwrap();
        let batch = batch_from_json(body).unwrap();
        let RawOrder::Object(order) = &batch[0] else {
            panic!("not an object")
        };
        assert_eq!(order.customer_id, RawValue::Text("01".into()));
        assert_eq!(
            order.items,
            RawItems::List(vec![RawItem::Object {
                item_id: RawValue::Text("20201".into()),
                cost_eur: RawValue::Number("2".into()),
                unknown_fields: vec![],
            }])
        );
    }

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
    fn a_single_object_is_a_batch_of_one_and_scalars_are_refused() {
        let one = batch_from_json(serde_json::json!({"orderId": "1"})).unwrap();
        assert_eq!(one.len(), 1);
        assert!(batch_from_json(serde_json::json!("orders")).is_err());
    }
}
