//! `POST /orders`: the request body mapped to raw application input, and the success answer.

use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Problem;

/// The success answer: `{"status":"ok","accepted":1,"duplicates":0}`.
#[derive(Debug, Serialize)]
pub(crate) struct SubmitResponse {
    pub status: &'static str,
    pub accepted: usize,
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

fn raw_order(value: Value) -> RawOrder {
    match value {
        Value::Object(fields) => order_fields(fields),
        other => RawOrder::NotAnObject(type_name(&other)),
    }
}

fn order_fields(mut fields: Map<String, Value>) -> RawOrder {
    let customer_id = raw_value(fields.remove("customerId"));
    let order_id = raw_value(fields.remove("orderId"));
    let timestamp = raw_value(fields.remove("timestamp"));
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
    fn a_single_object_is_a_batch_of_one_and_scalars_are_refused() {
        let one = batch_from_json(serde_json::json!({"orderId": "1"})).unwrap();
        assert_eq!(one.len(), 1);
        assert!(batch_from_json(serde_json::json!("orders")).is_err());
    }
}
