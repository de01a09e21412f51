//! The statements the service's SQL order store sends for one batch
//! (`crates/adapters/src/sql/order_store.rs`), written against the raw driver: the same tables,
//! the same multi-row inserts, the same multi-row upsert of the per-customer aggregates in
//! customer-id order, in one transaction. Keep the two in step, or the ceiling measures something else.

use std::collections::BTreeMap;

use sqlx::{MySql, MySqlConnection, QueryBuilder, Row};

use crate::data::OrderRows;

/// `SELECT order_id, fingerprint FROM orders WHERE order_id IN (...)`: the idempotency check that
/// precedes every write.
pub async fn stored_fingerprints(
    conn: &mut MySqlConnection,
    orders: &[OrderRows],
) -> sqlx::Result<Vec<(String, String)>> {
    let mut query =
        QueryBuilder::<MySql>::new("SELECT order_id, fingerprint FROM orders WHERE order_id IN (");
    let mut ids = query.separated(", ");
    for order in orders {
        ids.push_bind(order.order_id.as_str());
    }
    query.push(")");
    let rows = query.build().fetch_all(conn).await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// The orders and their items as two multi-row INSERTs.
pub async fn insert_orders_and_items(
    conn: &mut MySqlConnection,
    orders: &[OrderRows],
    received_at_ms: i64,
) -> sqlx::Result<()> {
    let mut heads = QueryBuilder::<MySql>::new(
        "INSERT INTO orders (order_id, customer_id, order_ts, item_count, total_cents, \
         fingerprint, received_at) ",
    );
    heads.push_values(orders, |mut row, order| {
        row.push_bind(order.order_id.as_str())
            .push_bind(order.customer_id.as_str())
            .push_bind(order.timestamp_ms)
            .push_bind(order.items.len() as i32)
            .push_bind(order.total_cents)
            .push_bind(order.fingerprint.as_str())
            .push_bind(received_at_ms);
    });
    heads.build().execute(&mut *conn).await?;

    let items = orders.iter().flat_map(|order| {
        order
            .items
            .iter()
            .enumerate()
            .map(move |(position, item)| (order, position, item))
    });
    let mut rows = QueryBuilder::<MySql>::new(
        "INSERT INTO order_items (customer_id, order_ts, order_id, position, item_id, cost_cents) ",
    );
    rows.push_values(items, |mut row, (order, position, (item_id, cents))| {
        row.push_bind(order.customer_id.as_str())
            .push_bind(order.timestamp_ms)
            .push_bind(order.order_id.as_str())
            .push_bind(position as i32)
            .push_bind(item_id.as_str())
            .push_bind(*cents);
    });
    rows.build().execute(&mut *conn).await?;
    Ok(())
}

/// Items and cents per customer, in customer-id order (the lock order the service uses).
pub fn aggregate_deltas(orders: &[OrderRows]) -> BTreeMap<&str, (i64, i64)> {
    let mut deltas: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for order in orders {
        let entry = deltas.entry(order.customer_id.as_str()).or_default();
        entry.0 += order.items.len() as i64;
        entry.1 += order.total_cents;
    }
    deltas
}

/// All customers' deltas in one multi-row upsert, in customer-id order, as the service's store
/// sends them.
pub async fn upsert_summaries_at_once(
    conn: &mut MySqlConnection,
    orders: &[OrderRows],
) -> sqlx::Result<()> {
    let deltas = aggregate_deltas(orders);
    let mut query = QueryBuilder::<MySql>::new(
        "INSERT INTO customer_summaries (customer_id, item_count, total_cents) ",
    );
    query.push_values(deltas, |mut row, (customer, (count, cents))| {
        row.push_bind(customer).push_bind(count).push_bind(cents);
    });
    query.push(
        " ON DUPLICATE KEY UPDATE item_count = item_count + VALUES(item_count), \
         total_cents = total_cents + VALUES(total_cents)",
    );
    query.build().execute(conn).await?;
    Ok(())
}

/// The read path of `GET /customers/{id}/items`: a page of 1000 plus one to know if more follow.
pub async fn customer_items(
    conn: &mut MySqlConnection,
    customer: &str,
) -> sqlx::Result<Vec<(String, i64, String, i32, String, i64)>> {
    sqlx::query_as(
        "SELECT customer_id, order_ts, order_id, position, item_id, cost_cents \
         FROM order_items WHERE customer_id = ? \
         ORDER BY order_ts ASC, order_id ASC, position ASC LIMIT 1001",
    )
    .bind(customer)
    .fetch_all(conn)
    .await
}

/// Whether an error is a lock conflict the service would retry (deadlock, lock-wait timeout).
pub fn is_lock_conflict(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|db| matches!(db.number(), 1213 | 1205))
}
