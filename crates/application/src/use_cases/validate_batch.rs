//! Turns a raw batch into domain orders, collecting every problem with its place.

use domain::{CustomerId, IdError, ItemId, LineItem, Money, Order, OrderId, OrderTimestamp};

use crate::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};

/// One problem of a submitted batch: which order (`index` in the batch), which field (a path
/// such as `items[2].costEur`), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// An order entry that has more items than allowed (a size limit, not a validation problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OversizedOrder {
    pub index: usize,
    pub count: usize,
}

pub(crate) fn find_oversized(batch: &[RawOrder], max_items: usize) -> Option<OversizedOrder> {
    batch
        .iter()
        .enumerate()
        .find_map(|(index, order)| match order {
            RawOrder::Object(RawOrderFields {
                items: RawItems::List(items),
                ..
            }) if items.len() > max_items => Some(OversizedOrder {
                index,
                count: items.len(),
            }),
            _ => None,
        })
}

/// The problems of a batch: the first ones, in batch order, and how many there are in all.
/// Only the first few are kept, so that a hostile batch (a million bad items) costs a counter,
/// not a million messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    pub listed: Vec<FieldError>,
    pub total: usize,
}

/// Longest piece of the client's input echoed in a message (an unknown key, a number).
pub const MAX_ECHOED_CHARS: usize = 64;

/// Validates every order of the batch; returns all orders, or the first `max_listed` problems
/// and their count.
pub(crate) fn validate_batch(
    batch: Vec<RawOrder>,
    max_items: usize,
    max_listed: usize,
) -> Result<Vec<Order>, FieldErrors> {
    let mut orders = Vec::with_capacity(batch.len());
    let mut errors = FieldErrors {
        listed: Vec::new(),
        total: 0,
    };
    for (index, raw) in batch.into_iter().enumerate() {
        let mut report = Reporter {
            index,
            errors: &mut errors,
            max_listed,
        };
        if let Some(order) = validate_order(raw, max_items, &mut report) {
            orders.push(order);
        }
    }
    if errors.total == 0 {
        Ok(orders)
    } else {
        Err(errors)
    }
}

struct Reporter<'a> {
    index: usize,
    errors: &'a mut FieldErrors,
    max_listed: usize,
}

impl Reporter<'_> {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.total += 1;
        if self.errors.listed.len() < self.max_listed {
            self.errors.listed.push(FieldError {
                index: self.index,
                field: field.into(),
                message: message.into(),
            });
        }
    }
}

/// `text` cut to [`MAX_ECHOED_CHARS`] characters (with `...` when cut): what a message may
/// repeat of the client's input.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// An error message that may contain `input` verbatim, with that input cut short.
fn without_long_echo(message: String, input: &str) -> String {
    if input.chars().count() > MAX_ECHOED_CHARS {
        message.replace(input, &echo(input))
    } else {
        message
    }
}

fn validate_order(raw: RawOrder, max_items: usize, report: &mut Reporter) -> Option<Order> {
    let fields = match raw {
        RawOrder::Object(fields) => fields,
        RawOrder::NotAnObject(kind) => {
            report.add("", format!("an order must be a JSON object, got {kind}"));
            return None;
        }
    };
    for key in &fields.unknown_fields {
        report.add(echo(key), "unknown field");
    }
    let customer_id = id_field(fields.customer_id, "customerId", report, CustomerId::parse);
    let order_id = id_field(fields.order_id, "orderId", report, OrderId::parse);
    let timestamp = timestamp_field(fields.timestamp, report);
    let items = items_field(fields.items, report);
    let (customer_id, order_id, timestamp, items) = (customer_id?, order_id?, timestamp?, items?);
    if !fields.unknown_fields.is_empty() {
        return None;
    }
    match Order::new(order_id, customer_id, timestamp, items, max_items) {
        Ok(order) => Some(order),
        Err(e) => {
            report.add("items", e.to_string());
            None
        }
    }
}

fn describe(value: &RawValue) -> String {
    match value {
        RawValue::Missing => "missing".into(),
        RawValue::Text(_) => "a string".into(),
        RawValue::Number(n) => format!("the number {}", echo(n)),
        RawValue::Other(kind) => kind.to_string(),
    }
}

fn id_field<T>(
    value: RawValue,
    field: &str,
    report: &mut Reporter,
    parse: fn(String) -> Result<T, IdError>,
) -> Option<T> {
    match value {
        // An id error never repeats the id.
        RawValue::Text(text) => parse(text.into_string())
            .map_err(|e| report.add(field, format!("invalid id: {e}")))
            .ok(),
        RawValue::Missing => {
            report.add(field, "is required");
            None
        }
        other => {
            report.add(field, format!("must be a string, got {}", describe(&other)));
            None
        }
    }
}

fn timestamp_field(value: RawValue, report: &mut Reporter) -> Option<OrderTimestamp> {
    const FIELD: &str = "timestamp";
    match value {
        RawValue::Text(text) | RawValue::Number(text) => OrderTimestamp::parse_digits(&text)
            .map_err(|e| report.add(FIELD, without_long_echo(e.to_string(), &text)))
            .ok(),
        RawValue::Missing => {
            report.add(FIELD, "is required");
            None
        }
        RawValue::Other(kind) => {
            report.add(
                FIELD,
                format!(
                    "must be epoch milliseconds as a string of digits or an integer, got {kind}"
                ),
            );
            None
        }
    }
}

fn items_field(items: RawItems, report: &mut Reporter) -> Option<Vec<LineItem>> {
    let list = match items {
        RawItems::List(list) => list,
        RawItems::Missing => {
            report.add("items", "is required");
            return None;
        }
        RawItems::NotAList(kind) => {
            report.add("items", format!("must be an array, got {kind}"));
            return None;
        }
    };
    let mut valid = Vec::with_capacity(list.len());
    let mut all_valid = true;
    for (position, item) in list.into_iter().enumerate() {
        match item_entry(item, position, report) {
            Some(item) => valid.push(item),
            None => all_valid = false,
        }
    }
    all_valid.then_some(valid)
}

fn item_entry(item: RawItem, position: usize, report: &mut Reporter) -> Option<LineItem> {
    let path = |field: &str| format!("items[{position}].{field}");
    let (item_id, cost_eur, unknown_fields) = match item {
        RawItem::Object {
            item_id,
            cost_eur,
            unknown_fields,
        } => (item_id, cost_eur, unknown_fields),
        RawItem::NotAnObject(kind) => {
            report.add(
                format!("items[{position}]"),
                format!("an item must be a JSON object, got {kind}"),
            );
            return None;
        }
    };
    for key in &unknown_fields {
        report.add(path(&echo(key)), "unknown field");
    }
    let item_id = id_field(item_id, &path("itemId"), report, ItemId::parse);
    let cost = match cost_eur {
        RawValue::Number(text) => Money::parse_decimal(&text)
            .map_err(|e| report.add(path("costEur"), without_long_echo(e.to_string(), &text)))
            .ok(),
        RawValue::Missing => {
            report.add(path("costEur"), "is required");
            None
        }
        other => {
            report.add(
                path("costEur"),
                format!("must be a JSON number, got {}", describe(&other)),
            );
            None
        }
    };
    if !unknown_fields.is_empty() {
        return None;
    }
    Some(LineItem::new(item_id?, cost?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> RawValue {
        RawValue::Text(s.into())
    }

    fn item(id: RawValue, cost: RawValue) -> RawItem {
        RawItem::Object {
            item_id: id,
            cost_eur: cost,
            unknown_fields: Box::default(),
        }
    }

    fn order(customer: RawValue, items: RawItems) -> RawOrder {
        RawOrder::Object(RawOrderFields {
            customer_id: customer,
            order_id: text("50"),
            timestamp: text("1637245070513"),
            items,
            unknown_fields: vec![],
        })
    }

    #[test]
    fn collects_every_problem_with_index_and_path() {
        let batch = vec![
            order(
                text("01"),
                RawItems::List(vec![item(text("a"), RawValue::Number("2".into()))]),
            ),
            order(
                RawValue::Missing,
                RawItems::List(vec![
                    item(text(""), RawValue::Number("-1".into())),
                    item(text("b"), text("2")),
                    RawItem::NotAnObject("number"),
                ]),
            ),
            RawOrder::NotAnObject("string"),
            order(text("01"), RawItems::List(vec![])),
        ];
        let errors = validate_batch(batch, 10, 100).unwrap_err().listed;
        let places: Vec<(usize, &str)> =
            errors.iter().map(|e| (e.index, e.field.as_str())).collect();
        assert_eq!(
            places,
            vec![
                (1, "customerId"),
                (1, "items[0].itemId"),
                (1, "items[0].costEur"),
                (1, "items[1].costEur"),
                (1, "items[2]"),
                (2, ""),
                (3, "items"),
            ]
        );
        assert!(errors[2].message.contains("negative"), "{:?}", errors[2]);
    }

    #[test]
    fn accepts_numeric_timestamps_and_rejects_unknown_fields() {
        let mut fields = RawOrderFields {
            customer_id: text("01"),
            order_id: text("50"),
            timestamp: RawValue::Number("1637245070513".into()),
            items: RawItems::List(vec![item(text("a"), RawValue::Number("0".into()))]),
            unknown_fields: vec![],
        };
        let orders = validate_batch(vec![RawOrder::Object(fields.clone())], 10, 100).unwrap();
        assert_eq!(orders[0].timestamp().millis(), 1_637_245_070_513);

        fields.unknown_fields = vec!["costEUR".into()];
        let errors = validate_batch(vec![RawOrder::Object(fields)], 10, 100).unwrap_err();
        assert_eq!(errors.listed[0].field, "costEUR");
    }

    #[test]
    fn lists_the_first_problems_counts_them_all_and_cuts_echoed_input() {
        let long_key = "k".repeat(1000);
        let long_number = format!("1.{}", "5".repeat(1000));
        let items = (0..300)
            .map(|_| RawItem::Object {
                item_id: RawValue::Missing,
                cost_eur: RawValue::Number(long_number.clone().into()),
                unknown_fields: Box::new([long_key.clone()]),
            })
            .collect();
        let batch = vec![order(text("01"), RawItems::List(items))];
        let errors = validate_batch(batch, 1000, 100).unwrap_err();
        assert_eq!(errors.total, 900);
        assert_eq!(errors.listed.len(), 100);
        assert_eq!(
            errors.listed[0].field,
            format!("items[0].{}...", "k".repeat(64))
        );
        assert_eq!(errors.listed[1].field, "items[0].itemId");
        let cost = &errors.listed[2];
        assert_eq!(cost.field, "items[0].costEur");
        assert!(cost.message.len() < 150, "{}", cost.message);
        assert!(cost.message.contains("1.555"), "{}", cost.message);
        assert_eq!(
            errors.listed[99].field,
            "items[33].{}...".replace("{}", &"k".repeat(64))
        );
    }
}
