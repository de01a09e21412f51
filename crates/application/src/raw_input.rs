//! Orders as a client sent them, before any validation. The delivery layer maps its wire format
//! into these types without judging the values, so that the submit use case can check the whole
//! batch and report every problem at once.

/// A scalar field as sent by the client.
///
/// Boxed strings (16 bytes, not 24): a batch may hold a million items, and every byte of an item
/// is a megabyte of the worst batch's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    /// The key was absent.
    Missing,
    /// A string, verbatim.
    Text(Box<str>),
    /// A number, as the exact text the client wrote (`2`, `18.50`, `1e2`).
    Number(Box<str>),
    /// Any other kind of value; carries its type name (`null`, `boolean`, `array`, `object`).
    Other(&'static str),
}

/// One entry of a submitted batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawOrder {
    Object(RawOrderFields),
    /// Not an object at all; carries the type name of what was sent.
    NotAnObject(&'static str),
}

/// The fields of an order object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOrderFields {
    pub customer_id: RawValue,
    pub order_id: RawValue,
    pub timestamp: RawValue,
    pub items: RawItems,
    /// Keys the contract does not know, rejected so that a typo never drops data silently.
    pub unknown_fields: Vec<String>,
}

/// The `items` field of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawItems {
    Missing,
    /// Not an array; carries the type name of what was sent.
    NotAList(&'static str),
    List(Vec<RawItem>),
}

/// One entry of an order's `items` (64 bytes: see [`RawValue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawItem {
    Object {
        item_id: RawValue,
        cost_eur: RawValue,
        unknown_fields: Box<[String]>,
    },
    NotAnObject(&'static str),
}

/// What one raw value costs besides its text: the enum and the string's header.
const PER_VALUE: usize = 24;

impl RawValue {
    fn approx_bytes(&self) -> usize {
        PER_VALUE
            + match self {
                RawValue::Text(text) | RawValue::Number(text) => text.len(),
                RawValue::Missing | RawValue::Other(_) => 0,
            }
    }
}

impl RawOrder {
    /// About the memory this order holds: what bounds how many are kept at once.
    pub fn approx_bytes(&self) -> usize {
        let RawOrder::Object(fields) = self else {
            return PER_VALUE;
        };
        let keys = |keys: &[String]| keys.iter().map(|key| PER_VALUE + key.len()).sum::<usize>();
        let items = match &fields.items {
            RawItems::List(items) => items
                .iter()
                .map(|item| match item {
                    RawItem::Object {
                        item_id,
                        cost_eur,
                        unknown_fields,
                    } => item_id.approx_bytes() + cost_eur.approx_bytes() + keys(unknown_fields),
                    RawItem::NotAnObject(_) => PER_VALUE,
                })
                .sum(),
            RawItems::Missing | RawItems::NotAList(_) => 0,
        };
        fields.customer_id.approx_bytes()
            + fields.order_id.approx_bytes()
            + fields.timestamp.approx_bytes()
            + keys(&fields.unknown_fields)
            + items
    }
}
