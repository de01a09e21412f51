//! Property tests of the `POST /orders` body path (strict parse, DTO mapping, the submit use
//! case's validation), through the same call as the fuzzer (`crate::fuzzing::submit_body`):
//! any valid batch written in the wire format, in any of the notations the contract allows,
//! comes back as exactly the orders that were written; any JSON document keeps the contract.
//!
//! The seed is fixed so that CI runs the same cases every time; `PROPTEST_RNG_SEED=<n>` explores
//! others and `PROPTEST_CASES=<n>` runs more. Failures are kept in
//! `crates/http/proptest-regressions/json_body_properties.txt` and replayed first: commit it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use domain::{
    CustomerId, ItemId, LineItem, MAX_ID_CHARS, MAX_ITEM_CENTS, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS,
    Money, Order, OrderId, OrderTimestamp,
};
use proptest::prelude::*;
use serde_json::Value;

use crate::fuzzing::submit_body;

fn config(cases: u32) -> ProptestConfig {
    testkit::proptest_config::config(cases, 0x0D0E_0A12, None)
}

/// How a string is written: plain (only what JSON requires escaped) or with every non-ASCII
/// character as `\uXXXX` (surrogate pairs beyond the BMP), as some clients do.
fn json_string(text: &str, ascii_only: bool) -> String {
    if !ascii_only {
        return Value::String(text.to_owned()).to_string();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A valid id: printable characters of any script, quotes and backslashes included.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        // Not blank, no control or format character: what ids accept.
        "[^\\p{Cc}\\p{Cf}\\s][^\\p{Cc}\\p{Cf}]{0,63}",
        "[a-z0-9\"\\\\/é日😀-][a-z0-9\"\\\\/ é日😀\u{2028}-]{0,11}",
        "[0-9]{1,4}",
    ]
}

fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![
        0..=MAX_ITEM_CENTS,
        0i64..10_000,
        Just(0),
        Just(MAX_ITEM_CENTS)
    ]
}

/// Every way the contract lets a client write this many cents as a JSON number.
fn cost_text(cents: i64, notation: u8) -> String {
    let (whole, fraction) = (cents / 100, cents % 100);
    match notation % 8 {
        0 => Money::from_cents(cents).unwrap().to_decimal_string(),
        1 => format!("{whole}.{fraction:02}"),
        2 => format!("{cents}e-2"),
        3 => format!("{whole}.{fraction:02}000"),
        4 => format!("{whole}.{fraction:02}E+0"),
        5 if cents == 0 => "-0".to_owned(),
        6 if fraction == 0 => format!("{whole}e0"),
        _ => format!("{}E-4", cents * 100),
    }
}

/// Every way the contract lets a client write a timestamp: digits in a string (canonical), a
/// JSON integer, or an integral JSON number in another notation.
fn timestamp_text(millis: u64, notation: u8) -> String {
    let digits = millis.to_string();
    match notation % 5 {
        0 => format!("\"{digits}\""),
        1 => digits,
        2 => format!("{digits}.0"),
        3 => format!("{}.{}e{}", &digits[..1], &digits[1..], digits.len() - 1),
        _ => format!("{digits}0e-1"),
    }
}

#[derive(Debug, Clone)]
struct ItemSpec {
    item_id: String,
    cents: i64,
    notation: u8,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    customer_id: String,
    order_id: String,
    millis: u64,
    timestamp_notation: u8,
    items: Vec<ItemSpec>,
    /// Permutes the order of the keys, which JSON leaves free.
    key_order: usize,
    ascii_only: bool,
}

impl OrderSpec {
    fn order(&self) -> Order {
        Order::new(
            OrderId::parse(self.order_id.as_str()).unwrap(),
            CustomerId::parse(self.customer_id.as_str()).unwrap(),
            OrderTimestamp::from_millis(self.millis).unwrap(),
            self.items
                .iter()
                .map(|i| {
                    LineItem::new(
                        ItemId::parse(i.item_id.as_str()).unwrap(),
                        Money::from_cents(i.cents).unwrap(),
                    )
                })
                .collect(),
            1000,
        )
        .unwrap()
    }

    fn json(&self, pretty: bool) -> String {
        let sep = if pretty { "\n    " } else { "" };
        let s = |text: &str| json_string(text, self.ascii_only);
        let items: Vec<String> = self
            .items
            .iter()
            .map(|i| {
                let mut fields = [
                    format!(r#""itemId":{}"#, s(&i.item_id)),
                    format!(r#""costEur":{}"#, cost_text(i.cents, i.notation)),
                ];
                if i.notation % 2 == 1 {
                    fields.reverse();
                }
                format!("{{{sep}{}{sep}}}", fields.join(&format!(",{sep}")))
            })
            .collect();
        let mut fields = [
            format!(r#""customerId":{}"#, s(&self.customer_id)),
            format!(r#""orderId":{}"#, s(&self.order_id)),
            format!(
                r#""timestamp":{}"#,
                timestamp_text(self.millis, self.timestamp_notation)
            ),
            format!(r#""items":[{}]"#, items.join(&format!(",{sep}"))),
        ];
        fields.rotate_left(self.key_order % 4);
        if self.key_order % 3 == 1 {
            fields.swap(0, 1);
        }
        format!("{{{sep}{}{sep}}}", fields.join(&format!(",{sep}")))
    }
}

fn item_spec() -> impl Strategy<Value = ItemSpec> {
    (id(), cents(), any::<u8>()).prop_map(|(item_id, cents, notation)| ItemSpec {
        item_id,
        cents,
        notation,
    })
}

fn order_spec() -> impl Strategy<Value = OrderSpec> {
    (
        id(),
        id(),
        MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS,
        any::<u8>(),
        prop::collection::vec(item_spec(), 1..6),
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(
            |(customer_id, order_id, millis, timestamp_notation, items, key_order, ascii_only)| {
                OrderSpec {
                    customer_id,
                    order_id,
                    millis,
                    timestamp_notation,
                    items,
                    key_order,
                    ascii_only,
                }
            },
        )
}

/// Orders with distinct ids, then identical re-sends of some of them written differently.
fn batch_spec() -> impl Strategy<Value = (Vec<OrderSpec>, Vec<OrderSpec>)> {
    prop::collection::vec(order_spec(), 1..8)
        .prop_filter("order ids must be distinct", |orders| {
            let mut ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
            ids.sort_unstable();
            ids.windows(2).all(|w| w[0] != w[1])
        })
        .prop_flat_map(|orders| {
            let n = orders.len();
            let resends = prop::collection::vec((0..n, any::<u8>(), any::<usize>()), 0..3);
            (Just(orders), resends)
        })
        .prop_map(|(orders, resends)| {
            let again = resends
                .into_iter()
                .map(|(index, notation, key_order)| {
                    let mut copy = orders[index].clone();
                    copy.timestamp_notation = copy.timestamp_notation.wrapping_add(notation);
                    for item in &mut copy.items {
                        item.notation = item.notation.wrapping_add(notation);
                    }
                    copy.key_order = key_order;
                    copy.ascii_only = !copy.ascii_only;
                    copy
                })
                .collect();
            (orders, again)
        })
}

/// Any JSON document whose keys are mostly the contract's, so that many reach the validation.
fn json_document() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("customerId".to_owned()),
        Just("orderId".to_owned()),
        Just("timestamp".to_owned()),
        Just("items".to_owned()),
        Just("itemId".to_owned()),
        Just("costEur".to_owned()),
        "[a-zA-Z]{0,3}",
    ];
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        "-?[0-9]{1,20}(\\.[0-9]{1,20})?([eE][-+]?[0-9]{1,4})?",
        any::<String>().prop_map(|s| Value::String(s).to_string()),
        "[0-9]{1,14}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| format!("{}:{v}", Value::String(k)))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn valid_batches_come_back_as_exactly_the_orders_written(
        (orders, resends) in batch_spec(),
        pretty in any::<bool>(),
        single_object in any::<bool>(),
    ) {
        let entries: Vec<String> = orders
            .iter()
            .chain(&resends)
            .map(|o| o.json(pretty))
            .collect();
        let body = if single_object && entries.len() == 1 {
            entries[0].clone()
        } else {
            format!("[{}]", entries.join(if pretty { ",\n" } else { "," }))
        };
        let outcome = submit_body(body.as_bytes());
        let answer = String::from_utf8_lossy(&outcome.body);
        prop_assert_eq!(outcome.status, 201, "{}\n{}", answer, body);
        let expected: Vec<Order> = orders.iter().map(OrderSpec::order).collect();
        prop_assert_eq!(&outcome.stored, &expected, "{}", body);
        let answer: Value = serde_json::from_slice(&outcome.body).unwrap();
        prop_assert_eq!(answer["accepted"].as_u64(), Some(orders.len() as u64));
        prop_assert_eq!(answer["duplicates"].as_u64(), Some(resends.len() as u64));
        prop_assert_eq!(outcome.broken_promises(), Vec::<String>::new());
    }

    #[test]
    fn a_changed_resend_of_an_order_in_the_same_batch_is_a_conflict(
        order in order_spec(),
        change in 0u8..3,
    ) {
        let mut other = order.clone();
        match change {
            0 => other.items[0].cents = (other.items[0].cents + 1) % (MAX_ITEM_CENTS + 1),
            1 => other.items.push(other.items[0].clone()),
            _ => other.customer_id.push('x'),
        }
        prop_assume!(other.customer_id.chars().count() <= MAX_ID_CHARS);
        let body = format!("[{},{}]", order.json(false), other.json(true));
        let outcome = submit_body(body.as_bytes());
        prop_assert_eq!(outcome.status, 409, "{}", body);
        prop_assert!(outcome.stored.is_empty());
        prop_assert_eq!(outcome.broken_promises(), Vec::<String>::new());
    }

    #[test]
    fn any_json_document_keeps_the_contract(document in json_document()) {
        let outcome = submit_body(document.as_bytes());
        prop_assert_eq!(outcome.broken_promises(), Vec::<String>::new(), "{}", document);
    }

    #[test]
    fn any_bytes_keep_the_contract(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let outcome = submit_body(&bytes);
        prop_assert_eq!(outcome.broken_promises(), Vec::<String>::new());
    }
}
