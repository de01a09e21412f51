//! The `POST /orders` body read straight into the application's raw input, in one pass over
//! the bytes: no JSON tree is built first, so a batch costs its raw orders and nothing more
//! (a 3 MB body of a million empty items would otherwise hold a million tree nodes as well),
//! and a bulk import parses each order once. Strict as the generic parser: one document, no
//! duplicate key in any object (unknown values are walked for that too), numbers kept as the
//! exact text the client wrote (serde_json's `arbitrary_precision`).

use std::collections::HashSet;
use std::fmt;

use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::integral_digits::integral_digits;
use crate::json_body::NoDuplicateKeys;

/// How serde_json (with `arbitrary_precision`) hands a number to `deserialize_any`: a map
/// with this one key, whose value is the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The keys of an order and of an item, as parsed here and as the schema names them.
pub(crate) const CUSTOMER_ID: &str = "customerId";
pub(crate) const ORDER_ID: &str = "orderId";
pub(crate) const TIMESTAMP: &str = "timestamp";
pub(crate) const ITEMS: &str = "items";
pub(crate) const ITEM_ID: &str = "itemId";
pub(crate) const COST_EUR: &str = "costEur";

/// The top of a body: a batch, or something else (named by its JSON type).
pub(crate) enum Body {
    Batch(Vec<RawOrder>),
    Other(&'static str),
}

/// Parses a whole body: one JSON document, nothing after it.
pub(crate) fn body_from_slice(json: &[u8]) -> Result<Body, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let body = BodySeed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(body)
}

/// Parses one order (an element of a batch, a line of NDJSON).
pub(crate) fn order_from_slice(json: &[u8]) -> Result<RawOrder, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let order = OrderSeed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(order)
}

/// Walks a value that is not used, only to refuse duplicate keys inside it.
fn walk<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value_seed(NoDuplicateKeys)
}

/// Records a key, refusing a second occurrence.
fn first_time<E: de::Error>(seen: &mut HashSet<String>, key: &str) -> Result<(), E> {
    if seen.insert(key.to_owned()) {
        Ok(())
    } else {
        Err(E::custom(format!("duplicate key `{key}`")))
    }
}

/// A whole body: a batch, or one order object (a batch of one).
pub(crate) struct BodySeed;

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Body;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Body, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BodySeed {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of orders or one order object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        let mut orders = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(order) = seq.next_element_seed(OrderSeed)? {
            orders.push(order);
        }
        Ok(Body::Batch(orders))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Body, A::Error> {
        match order_or_number(map)? {
            Ok(order) => Ok(Body::Batch(vec![order])),
            Err(_number) => Ok(Body::Other("number")),
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
        Ok(Body::Other("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
        Ok(Body::Other("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
        Ok(Body::Other("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
        Ok(Body::Other("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Body, E> {
        Ok(Body::Other("string"))
    }
    fn visit_unit<E>(self) -> Result<Body, E> {
        Ok(Body::Other("null"))
    }
}

/// An object: an order, unless it is serde_json's encoding of a number (then its text).
fn order_or_number<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Result<RawOrder, String>, A::Error> {
    let mut fields = RawOrderFields {
        customer_id: RawValue::Missing,
        order_id: RawValue::Missing,
        timestamp: RawValue::Missing,
        items: RawItems::Missing,
        unknown_fields: Vec::new(),
    };
    let mut seen = HashSet::new();
    while let Some(key) = map.next_key::<String>()? {
        if seen.is_empty() && key == NUMBER_TOKEN {
            return Ok(Err(map.next_value::<String>()?));
        }
        first_time(&mut seen, &key)?;
        match key.as_str() {
            CUSTOMER_ID => fields.customer_id = map.next_value_seed(ValueSeed)?,
            ORDER_ID => fields.order_id = map.next_value_seed(ValueSeed)?,
            TIMESTAMP => {
                fields.timestamp = match map.next_value_seed(ValueSeed)? {
                    // A JSON integer may be written `1637245070513.0` or `1.637245070513e12`.
                    RawValue::Number(text) => RawValue::Number(
                        integral_digits(&text).map_or(text, String::into_boxed_str),
                    ),
                    other => other,
                }
            }
            ITEMS => fields.items = map.next_value_seed(ItemsSeed)?,
            _ => {
                walk(&mut map)?;
                fields.unknown_fields.push(key);
            }
        }
    }
    Ok(Ok(RawOrder::Object(fields)))
}

/// One entry of a batch.
pub(crate) struct OrderSeed;

impl<'de> DeserializeSeed<'de> for OrderSeed {
    type Value = RawOrder;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawOrder, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OrderSeed {
    type Value = RawOrder;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an order object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawOrder, A::Error> {
        Ok(order_or_number(map)?.unwrap_or(RawOrder::NotAnObject("number")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawOrder, A::Error> {
        while seq.next_element_seed(NoDuplicateKeys)?.is_some() {}
        Ok(RawOrder::NotAnObject("array"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("string"))
    }
    fn visit_unit<E>(self) -> Result<RawOrder, E> {
        Ok(RawOrder::NotAnObject("null"))
    }
}

/// A scalar field: a string, a number's exact text, or the name of another type.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = RawValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, text: &str) -> Result<RawValue, E> {
        Ok(RawValue::Text(text.into()))
    }
    fn visit_string<E>(self, text: String) -> Result<RawValue, E> {
        Ok(RawValue::Text(text.into_boxed_str()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<RawValue, E> {
        Ok(RawValue::Number(n.to_string().into_boxed_str()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<RawValue, E> {
        Ok(RawValue::Number(n.to_string().into_boxed_str()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<RawValue, E> {
        Ok(RawValue::Number(n.to_string().into_boxed_str()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<RawValue, E> {
        Ok(RawValue::Other("boolean"))
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        while seq.next_element_seed(NoDuplicateKeys)?.is_some() {}
        Ok(RawValue::Other("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.is_empty() && key == NUMBER_TOKEN {
                return Ok(RawValue::Number(
                    map.next_value::<String>()?.into_boxed_str(),
                ));
            }
            first_time(&mut seen, &key)?;
            walk(&mut map)?;
        }
        Ok(RawValue::Other("object"))
    }
}

/// The `items` field.
struct ItemsSeed;

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = RawItems;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawItems, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = RawItems;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawItems, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(ItemSeed)? {
            items.push(item);
        }
        Ok(RawItems::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawItems, A::Error> {
        Ok(RawItems::NotAList(other_kind(ValueSeed.visit_map(map)?)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("string"))
    }
    fn visit_unit<E>(self) -> Result<RawItems, E> {
        Ok(RawItems::NotAList("null"))
    }
}

/// The JSON type name of a value that is not what was expected.
fn other_kind(value: RawValue) -> &'static str {
    match value {
        RawValue::Other(kind) => kind,
        RawValue::Number(_) => "number",
        RawValue::Text(_) => "string",
        RawValue::Missing => "nothing",
    }
}

/// One entry of `items`.
pub(crate) struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = RawItem;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawItem, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = RawItem;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
        let (mut item_id, mut cost_eur) = (RawValue::Missing, RawValue::Missing);
        let mut unknown_fields = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.is_empty() && key == NUMBER_TOKEN {
                map.next_value::<IgnoredAny>()?;
                return Ok(RawItem::NotAnObject("number"));
            }
            first_time(&mut seen, &key)?;
            match key.as_str() {
                ITEM_ID => item_id = map.next_value_seed(ValueSeed)?,
                COST_EUR => cost_eur = map.next_value_seed(ValueSeed)?,
                _ => {
                    walk(&mut map)?;
                    unknown_fields.push(key);
                }
            }
        }
        Ok(RawItem::Object {
            item_id,
            cost_eur,
            unknown_fields: unknown_fields.into_boxed_slice(),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawItem, A::Error> {
        while seq.next_element_seed(NoDuplicateKeys)?.is_some() {}
        Ok(RawItem::NotAnObject("array"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("string"))
    }
    fn visit_unit<E>(self) -> Result<RawItem, E> {
        Ok(RawItem::NotAnObject("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(json: &str) -> Vec<RawOrder> {
        match body_from_slice(json.as_bytes()) {
            Ok(Body::Batch(orders)) => orders,
            Ok(Body::Other(kind)) => panic!("not a batch: {kind}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn reads_the_canonical_sample_with_exact_numbers() {
        let orders = batch(
            r#"[{"customerId":"01","orderId":"50","timestamp":1.637245070513e12,"items":[{"itemId":"20201","costEur":2.50},{"itemId":"x","costEur":1e400}]}]"#,
        );
        let RawOrder::Object(order) = &orders[0] else {
            panic!("not an object")
        };
        assert_eq!(order.customer_id, RawValue::Text("01".into()));
        assert_eq!(order.timestamp, RawValue::Number("1637245070513".into()));
        assert_eq!(
            order.items,
            RawItems::List(vec![
                RawItem::Object {
                    item_id: RawValue::Text("20201".into()),
                    cost_eur: RawValue::Number("2.50".into()),
                    unknown_fields: Box::default(),
                },
                RawItem::Object {
                    item_id: RawValue::Text("x".into()),
                    cost_eur: RawValue::Number("1e+400".into()),
                    unknown_fields: Box::default(),
                }
            ])
        );
    }

    #[test]
    fn other_types_are_named_and_unknown_keys_kept() {
        let orders = batch(
            r#"[1, "x", null, [1], {"orderId":7,"customerId":{"a":1},"items":{"b":[]},"x":[{"y":1}]},
                {"items":[3, {"itemId":true,"costEur":null,"extra":{}}]}]"#,
        );
        assert_eq!(orders[0], RawOrder::NotAnObject("number"));
        assert_eq!(orders[1], RawOrder::NotAnObject("string"));
        assert_eq!(orders[2], RawOrder::NotAnObject("null"));
        assert_eq!(orders[3], RawOrder::NotAnObject("array"));
        let RawOrder::Object(order) = &orders[4] else {
            panic!("not an object")
        };
        assert_eq!(order.order_id, RawValue::Number("7".into()));
        assert_eq!(order.customer_id, RawValue::Other("object"));
        assert_eq!(order.items, RawItems::NotAList("object"));
        assert_eq!(order.unknown_fields, ["x"]);
        let RawOrder::Object(order) = &orders[5] else {
            panic!("not an object")
        };
        assert_eq!(
            order.items,
            RawItems::List(vec![
                RawItem::NotAnObject("number"),
                RawItem::Object {
                    item_id: RawValue::Other("boolean"),
                    cost_eur: RawValue::Other("null"),
                    unknown_fields: Box::new(["extra".into()]),
                }
            ])
        );
    }

    #[test]
    fn a_single_object_is_a_batch_and_scalars_are_named() {
        assert_eq!(batch(r#"{"orderId":"1"}"#).len(), 1);
        for (json, kind) in [("\"x\"", "string"), ("1.5", "number"), ("null", "null")] {
            assert!(
                matches!(body_from_slice(json.as_bytes()), Ok(Body::Other(k)) if k == kind),
                "{json}"
            );
        }
    }

    #[test]
    fn duplicate_keys_anywhere_and_trailing_data_are_refused() {
        for json in [
            r#"[{"orderId":"1","orderId":"2"}]"#,
            r#"[{"items":[{"itemId":"a","itemId":"b"}]}]"#,
            r#"[{"x":{"a":1,"a":2}}]"#,
            r#"[[{"a":1,"a":2}]]"#,
            r#"[{"items":[{"costEur":{"a":1,"a":1}}]}]"#,
            r#"{"orderId":"1"} {}"#,
            r#"[{}"#,
        ] {
            assert!(body_from_slice(json.as_bytes()).is_err(), "{json}");
        }
    }
}
