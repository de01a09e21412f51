use std::collections::HashMap;

use async_trait::async_trait;
use domain::{CustomerId, Fingerprint, ItemId, Money, Order, OrderId, OrderTimestamp};
use thiserror::Error;

/// Where a purchased item sits in its customer's purchase history: the listing order, and the
/// key a page cursor resumes after.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemKey {
    pub timestamp: OrderTimestamp,
    pub order_id: OrderId,
    /// Zero-based position of the item inside its order.
    pub position: u32,
}

/// One item a customer bought, as read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchasedItem {
    pub key: ItemKey,
    pub customer_id: CustomerId,
    pub item_id: ItemId,
    pub cost: Money,
}

/// A customer's purchase summary: how many items and how much in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub customer_id: CustomerId,
    pub purchased_items: u64,
    pub total: Money,
}

/// A failure of the store itself, not of the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The database cannot be reached or did not answer in time; worth retrying later.
    #[error("the order store is unavailable: {0}")]
    Unavailable(String),
    /// Concurrent writers kept colliding; worth retrying later.
    #[error("the order store is busy: {0}")]
    Contention(String),
    /// Anything else: a bug or corrupt data. Details are for the logs.
    #[error("order store failure: {0}")]
    Internal(String),
}

/// Why a batch could not be inserted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InsertError {
    /// Another writer stored one of these order ids after they were looked up; nothing of the
    /// batch was written, and the caller should look the ids up again.
    #[error("an order id of the batch was stored concurrently")]
    AlreadyStored,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Durable storage of orders, their items and per-customer aggregates.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// The fingerprints of those `ids` that are already stored.
    async fn stored_fingerprints(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Fingerprint>, StoreError>;

    /// Stores every order, its items, and the customers' updated aggregates in one transaction:
    /// all or nothing. `received_at_ms` records when the service accepted them.
    async fn insert_new(&self, orders: &[Order], received_at_ms: u64) -> Result<(), InsertError>;

    /// Up to `limit` items of one customer in purchase order (timestamp, order id, position),
    /// starting after `after`.
    async fn customer_items(
        &self,
        customer: &CustomerId,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<Vec<PurchasedItem>, StoreError>;

    /// Whether any order of this customer is stored.
    async fn customer_exists(&self, customer: &CustomerId) -> Result<bool, StoreError>;

    /// Up to `limit` customer summaries sorted by customer id, starting after `after`. Served
    /// from maintained aggregates: the cost follows `limit`, not the size of the store.
    async fn customer_summaries(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<CustomerSummary>, StoreError>;

    /// Whether the store answers at all (for readiness probes).
    async fn ping(&self) -> Result<(), StoreError>;
}
