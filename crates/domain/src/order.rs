use std::fmt;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::{CustomerId, ItemId, Money, OrderId, OrderTimestamp};

/// One purchased article inside an order. A repeated item id is a separate purchase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineItem {
    item_id: ItemId,
    cost: Money,
}

impl LineItem {
    pub fn new(item_id: ItemId, cost: Money) -> Self {
        Self { item_id, cost }
    }

    pub fn item_id(&self) -> &ItemId {
        &self.item_id
    }

    pub fn cost(&self) -> Money {
        self.cost
    }
}

/// Why a set of valid parts does not make a valid order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    #[error("an order needs at least one item")]
    NoItems,
    #[error("{count} items exceed the limit of {max} per order")]
    TooManyItems { count: usize, max: usize },
    #[error("the order's total exceeds what can be stored")]
    TotalOverflow,
}

/// A customer's order: who bought, when, and which items, in the order they were listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    order_id: OrderId,
    customer_id: CustomerId,
    timestamp: OrderTimestamp,
    items: Vec<LineItem>,
    total: Money,
    /// Computed once: an order is immutable, and both the idempotency check and the store
    /// need it.
    fingerprint: Fingerprint,
}

impl Order {
    /// Builds an order of at least one and at most `max_items` items.
    pub fn new(
        order_id: OrderId,
        customer_id: CustomerId,
        timestamp: OrderTimestamp,
        items: Vec<LineItem>,
        max_items: usize,
    ) -> Result<Self, OrderError> {
        if items.is_empty() {
            return Err(OrderError::NoItems);
        }
        if items.len() > max_items {
            return Err(OrderError::TooManyItems {
                count: items.len(),
                max: max_items,
            });
        }
        let total = items
            .iter()
            .try_fold(Money::ZERO, |sum, item| sum.checked_add(item.cost))
            .ok_or(OrderError::TotalOverflow)?;
        let fingerprint = fingerprint_of(&order_id, &customer_id, timestamp, &items);
        Ok(Self {
            order_id,
            customer_id,
            timestamp,
            items,
            total,
            fingerprint,
        })
    }

    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    pub fn timestamp(&self) -> OrderTimestamp {
        self.timestamp
    }

    pub fn items(&self) -> &[LineItem] {
        &self.items
    }

    pub fn total(&self) -> Money {
        self.total
    }

    /// A digest of the order's content in canonical form: two submissions of the same order
    /// (`2` or `2.00`, a timestamp as string or integer) have the same fingerprint; any change of
    /// customer, timestamp, item, cost or item order gives another one.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

fn fingerprint_of(
    order_id: &OrderId,
    customer_id: &CustomerId,
    timestamp: OrderTimestamp,
    items: &[LineItem],
) -> Fingerprint {
    let mut hasher = Sha256::new();
    // Length-prefixed fields, so that no two different orders can encode to the same bytes.
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(order_id.as_str().as_bytes());
    field(customer_id.as_str().as_bytes());
    field(&timestamp.millis().to_be_bytes());
    for item in items {
        field(item.item_id.as_str().as_bytes());
        field(&item.cost.cents().to_be_bytes());
    }
    Fingerprint(hasher.finalize().into())
}

/// A SHA-256 digest identifying an order's content; compared to detect retries vs. conflicts.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the 64 lowercase hex digits written by `to_hex`.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// 64 lowercase hex digits. Written per stored order: a table, not `format!` per byte
    /// (which took 8% of a bulk import's CPU).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, items: &[(&str, &str)]) -> Result<Order, OrderError> {
        Order::new(
            OrderId::parse(id).unwrap(),
            CustomerId::parse("01").unwrap(),
            OrderTimestamp::parse_digits("1637245070513").unwrap(),
            items
                .iter()
                .map(|(i, c)| LineItem::new(ItemId::parse(*i).unwrap(), c.parse().unwrap()))
                .collect(),
            3,
        )
    }

    #[test]
    fn sums_the_total_exactly() {
        let o = order("50", &[("a", "0.1"), ("b", "0.2"), ("a", "18.5")]).unwrap();
        assert_eq!(o.total().to_string(), "18.8");
        assert_eq!(o.items().len(), 3);
    }

    #[test]
    fn enforces_item_count_bounds() {
        assert_eq!(order("50", &[]), Err(OrderError::NoItems));
        assert_eq!(
            order("50", &[("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")]),
            Err(OrderError::TooManyItems { count: 4, max: 3 })
        );
    }

    #[test]
    fn fingerprint_ignores_notation_but_not_content() {
        let a = order("50", &[("a", "2"), ("b", "1")]).unwrap();
        let same = order("50", &[("a", "2.00"), ("b", "1.0")]).unwrap();
        let reordered = order("50", &[("b", "1"), ("a", "2")]).unwrap();
        let other_cost = order("50", &[("a", "2.01"), ("b", "1")]).unwrap();
        assert_eq!(a.fingerprint(), same.fingerprint());
        assert_ne!(a.fingerprint(), reordered.fingerprint());
        assert_ne!(a.fingerprint(), other_cost.fingerprint());
        let hex = a.fingerprint().to_hex();
        assert_eq!(Fingerprint::from_hex(&hex), Some(a.fingerprint()));
        assert_eq!(Fingerprint::from_hex("zz"), None);
    }
}
