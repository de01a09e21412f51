//! An order store in memory for the use cases' tests, with knobs for what the submission paths
//! must survive: an insert that waits, fails, panics or loses a race.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::{CustomerId, Fingerprint, Order, OrderId};
use tokio::sync::Semaphore;

use crate::ports::{CustomerSummary, InsertError, ItemKey, OrderStore, PurchasedItem, StoreError};

/// Inserts wait for a permit of `gate` (when set: a gate never opened is a store that never
/// answers), fail with `failure` or for an order id `poison`, and are counted with the orders
/// each carried.
#[derive(Default)]
pub(super) struct FakeStore {
    pub(super) stored: Mutex<HashMap<OrderId, Fingerprint>>,
    pub(super) lookups: AtomicUsize,
    pub(super) inserts: Mutex<Vec<Vec<String>>>,
    pub(super) gate: Option<Arc<Semaphore>>,
    pub(super) poison: Option<&'static str>,
    /// The writer panics at an insert holding this id.
    pub(super) panic_on: Option<&'static str>,
    /// At the first insert, another writer stores this order first.
    pub(super) race: Mutex<Option<Order>>,
    /// What every insert fails with, as the adapter answers after its own retries.
    pub(super) failure: Option<StoreError>,
}

#[async_trait]
impl OrderStore for FakeStore {
    async fn stored_fingerprints(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Fingerprint>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let stored = self.stored.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| stored.get(id).map(|f| (id.clone(), *f)))
            .collect())
    }

    async fn insert_new(&self, orders: &[Order], _: u64) -> Result<(), InsertError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        let ids: Vec<String> = orders
            .iter()
            .map(|o| o.order_id().as_str().into())
            .collect();
        self.inserts.lock().unwrap().push(ids.clone());
        if self.panic_on.is_some_and(|id| ids.iter().any(|i| i == id)) {
            panic!("a bug in the store");
        }
        if let Some(first) = self.race.lock().unwrap().take() {
            let mut stored = self.stored.lock().unwrap();
            stored.insert(first.order_id().clone(), first.fingerprint());
            return Err(InsertError::AlreadyStored);
        }
        if let Some(failure) = &self.failure {
            return Err(failure.clone().into());
        }
        if self
            .poison
            .is_some_and(|poison| ids.iter().any(|id| id == poison))
        {
            return Err(StoreError::Internal("poisoned row".into()).into());
        }
        let mut stored = self.stored.lock().unwrap();
        for order in orders {
            stored.insert(order.order_id().clone(), order.fingerprint());
        }
        Ok(())
    }

    async fn customer_items(
        &self,
        _: &CustomerId,
        _: Option<ItemKey>,
        _: usize,
    ) -> Result<Vec<PurchasedItem>, StoreError> {
        unimplemented!()
    }

    async fn customer_exists(&self, _: &CustomerId) -> Result<bool, StoreError> {
        unimplemented!()
    }

    async fn customer_summaries(
        &self,
        _: Option<CustomerId>,
        _: usize,
    ) -> Result<Vec<CustomerSummary>, StoreError> {
        unimplemented!()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
