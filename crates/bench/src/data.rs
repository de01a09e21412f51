//! The synthetic orders every benchmark phase uses. The wrk script that feeds the service
//! (`crates/bench/src/run/wrk.lua`) builds the same shape: customers `c` + zero-padded number,
//! three items per order, costs from 0.01 to 999.99 EUR.

use anyhow::{Context, Result};
use domain::{CustomerId, ItemId, LineItem, Money, Order, OrderId, OrderTimestamp};

/// 2021-11-18, the timestamp of the contract's example; every order is a millisecond later.
pub const BASE_TIMESTAMP_MS: u64 = 1_637_245_070_513;
pub const ITEMS_PER_ORDER: usize = 3;

/// `c` + the number, zero-padded to the width of the largest customer number, so that
/// `c[0-9]{width}` (oha's random URLs) covers exactly the stored customers when `customers` is
/// a power of ten.
pub fn customer_id(number: u64, customers: u64) -> String {
    let width = customers.saturating_sub(1).max(1).to_string().len();
    format!("c{number:0width$}")
}

/// One order's rows, ready for the SQL statements.
#[derive(Debug, Clone)]
pub struct OrderRows {
    pub order_id: String,
    pub customer_id: String,
    pub timestamp_ms: i64,
    pub total_cents: i64,
    pub fingerprint: String,
    /// (item id, cost in cents), in order.
    pub items: Vec<(String, i64)>,
}

/// Builds the rows through the domain, so the fingerprint is the service's own.
pub fn order_rows(
    order_id: String,
    customer_id: String,
    timestamp_ms: u64,
    items: Vec<(String, i64)>,
) -> Result<OrderRows> {
    let line_items = items
        .iter()
        .map(|(item, cents)| {
            Ok(LineItem::new(
                ItemId::parse(item.as_str())?,
                Money::from_cents(*cents).context("cost out of range")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let order = Order::new(
        OrderId::parse(order_id.as_str())?,
        CustomerId::parse(customer_id.as_str())?,
        OrderTimestamp::from_millis(timestamp_ms).context("timestamp out of range")?,
        line_items,
        ITEMS_PER_ORDER,
    )?;
    Ok(OrderRows {
        timestamp_ms: i64::try_from(timestamp_ms)?,
        total_cents: order.total().cents(),
        fingerprint: order.fingerprint().to_hex(),
        order_id,
        customer_id,
        items,
    })
}

/// The `n`-th seeded order: customers in turn (so every customer has items once there are at
/// least as many orders as customers), costs spread deterministically.
pub fn seeded_order(n: u64, customers: u64) -> Result<OrderRows> {
    numbered_order("s", n, customers)
}

/// The `n`-th order of a series named by `prefix`, built as [`seeded_order`] builds its own.
pub fn numbered_order(prefix: &str, n: u64, customers: u64) -> Result<OrderRows> {
    let items = (0..ITEMS_PER_ORDER as u64)
        .map(|k| {
            let spread = n.wrapping_mul(7919).wrapping_add(k * 104_729);
            (
                format!("i{}", spread % 10_000),
                (spread % 99_999 + 1) as i64,
            )
        })
        .collect();
    order_rows(
        format!("{prefix}{n}"),
        customer_id(n % customers, customers),
        BASE_TIMESTAMP_MS + n,
        items,
    )
}

/// Now, in epoch milliseconds: the `received_at` of the rows a ceiling writes.
pub fn now_millis() -> Result<i64> {
    Ok(i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )?)
}

/// An order for the ingest ceiling: a random customer, random items, an id unique to the run,
/// the writer task and its counter (as the wrk script does for the service).
pub fn random_order(
    rng: &mut impl rand::Rng,
    run: &str,
    task: usize,
    counter: u64,
    customers: u64,
) -> Result<OrderRows> {
    let items = (0..ITEMS_PER_ORDER)
        .map(|_| {
            (
                format!("i{}", rng.random_range(0..10_000)),
                rng.random_range(1..=99_999),
            )
        })
        .collect();
    order_rows(
        format!("{run}-{task}-{counter}"),
        customer_id(rng.random_range(0..customers), customers),
        BASE_TIMESTAMP_MS + counter,
        items,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn customer_ids_are_padded_to_the_largest_number() {
        assert_eq!(customer_id(7, 100_000), "c00007");
        assert_eq!(customer_id(99_999, 100_000), "c99999");
        assert_eq!(customer_id(3, 10), "c3");
    }

    #[test]
    fn seeded_orders_are_valid_and_deterministic() {
        let a = seeded_order(42, 1000).unwrap();
        let b = seeded_order(42, 1000).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.items.len(), ITEMS_PER_ORDER);
        assert_eq!(a.customer_id, "c042");
        assert_eq!(a.total_cents, a.items.iter().map(|(_, c)| c).sum::<i64>());
    }
}
