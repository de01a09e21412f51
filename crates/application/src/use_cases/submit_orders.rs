use std::sync::Arc;
use std::time::Duration;

use domain::Order;

use super::submit_outcome::{SubmitError, SubmitReport, collapse_repeats};
use super::validate_batch::{FieldError, FieldErrors, find_oversized, validate_batch};
use super::write_groups::{WriteGroupSettings, WriteGroups, commit_one};
use crate::ports::{Clock, OrderStore, StoreError};
use crate::raw_input::RawOrder;

/// How big a batch may be. Exceeding a limit rejects the whole batch (never a truncation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitLimits {
    pub max_orders_per_batch: usize,
    pub max_items_per_order: usize,
    /// Problems of an invalid batch listed at most (all are counted): an answer never much
    /// larger than a page, whatever the batch.
    pub max_listed_errors: usize,
}

impl SubmitLimits {
    /// The limits unless configured otherwise; the API's schema states them.
    pub const DEFAULT: SubmitLimits = SubmitLimits {
        max_orders_per_batch: 1000,
        max_items_per_order: 1000,
        max_listed_errors: 100,
    };
}

impl Default for SubmitLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Use case: validate a batch of orders and store its new orders atomically and idempotently.
#[derive(Clone)]
pub struct SubmitOrders {
    store: Arc<dyn OrderStore>,
    clock: Arc<dyn Clock>,
    limits: SubmitLimits,
    /// Where concurrent submissions share transactions; without it each is written alone.
    groups: Option<Arc<WriteGroups>>,
    /// How long a valid batch may take to be answered, everything included; without it only
    /// the store's own deadlines bound it.
    deadline: Option<Duration>,
}

impl std::fmt::Debug for SubmitOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitOrders")
            .field("limits", &self.limits)
            .field(
                "groups",
                &self.groups.as_ref().map(|groups| groups.settings()),
            )
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl SubmitOrders {
    pub fn new(store: Arc<dyn OrderStore>, clock: Arc<dyn Clock>, limits: SubmitLimits) -> Self {
        Self {
            store,
            clock,
            limits,
            groups: None,
            deadline: None,
        }
    }

    /// Submissions through [`Self::execute`] that arrive while the writers are busy share one
    /// transaction per group (see `write_groups`); each is still answered exactly as alone.
    /// Writers are Tokio tasks: `execute` must then run inside a Tokio runtime.
    pub fn with_write_groups(mut self, settings: WriteGroupSettings) -> Self {
        self.groups = Some(Arc::new(WriteGroups::new(
            self.store.clone(),
            self.clock.clone(),
            settings,
        )));
        self
    }

    /// Every valid batch through [`Self::execute`] is answered within `deadline`: the wait for
    /// a writer, the lookups and the write with the store's retries of it, all together. Past
    /// it the answer is [`StoreError::Unavailable`] (a 503 with `Retry-After`). Runs on Tokio's
    /// timer: `execute` must then run inside a Tokio runtime.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub fn limits(&self) -> SubmitLimits {
        self.limits
    }

    /// Validates one order exactly as [`Self::execute`] would, limits included: the order, or
    /// its problems alone (their `index` is 0). Stores nothing.
    pub fn validate_one(&self, order: RawOrder) -> Result<Order, FieldErrors> {
        let max_items = self.limits.max_items_per_order;
        if let Some(oversized) = find_oversized(std::slice::from_ref(&order), max_items) {
            return Err(FieldErrors {
                listed: vec![FieldError {
                    index: 0,
                    field: "items".into(),
                    message: format!(
                        "{} items, over the limit of {max_items} per order",
                        oversized.count
                    ),
                }],
                total: 1,
            });
        }
        validate_batch(vec![order], max_items, self.limits.max_listed_errors)
            .map(|mut orders| orders.remove(0))
    }

    pub async fn execute(&self, batch: Vec<RawOrder>) -> Result<SubmitReport, SubmitError> {
        self.execute_holding(batch, ()).await
    }

    /// [`Self::execute`], keeping `hold` (say, the memory reservation of the request's body)
    /// until the batch's orders are written and dropped, even when the caller stops waiting
    /// for the answer while they are queued.
    pub async fn execute_holding(
        &self,
        batch: Vec<RawOrder>,
        hold: impl Send + Sync + 'static,
    ) -> Result<SubmitReport, SubmitError> {
        if batch.is_empty() {
            return Err(SubmitError::EmptyBatch);
        }
        let max = self.limits.max_orders_per_batch;
        if batch.len() > max {
            return Err(SubmitError::TooManyOrders {
                count: batch.len(),
                max,
            });
        }
        let max_items = self.limits.max_items_per_order;
        if let Some(oversized) = find_oversized(&batch, max_items) {
            return Err(SubmitError::TooManyItems {
                index: oversized.index,
                count: oversized.count,
                max: max_items,
            });
        }
        let orders = validate_batch(batch, max_items, self.limits.max_listed_errors)
            .map_err(SubmitError::Invalid)?;
        let stored = async {
            match &self.groups {
                Some(groups) => {
                    // A conflict between the request's own repeats is its answer at once.
                    collapse_repeats(&orders)?;
                    groups.submit(orders, Box::new(hold)).await
                }
                None => {
                    let stored = self.store_valid(&orders).await;
                    drop(hold);
                    stored
                }
            }
        };
        let Some(deadline) = self.deadline else {
            return stored.await;
        };
        // Giving up while still queued means never written. A group already taken is written
        // on a task of its own, which the deadline does not stop: its commit may come after
        // this 503. That is why a 503 means "outcome unknown, send the same batch again"
        // (README): the retry gets the committed orders back as `duplicates`.
        tokio::time::timeout(deadline, stored)
            .await
            .unwrap_or_else(|_| {
                metrics::counter!("order_manager_submit_deadline_exceeded_total").increment(1);
                Err(SubmitError::Store(StoreError::Unavailable(format!(
                    "no answer within the submission deadline of {deadline:?}"
                ))))
            })
    }

    /// Stores the new ones of `orders`, already valid, atomically and idempotently: identical
    /// repeats (in the batch or already stored) are duplicates; an id with other content is a
    /// conflict for the whole batch, and nothing is stored.
    pub async fn store_valid(&self, orders: &[Order]) -> Result<SubmitReport, SubmitError> {
        commit_one(&*self.store, &*self.clock, orders).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use domain::{Fingerprint, OrderId};
    use mockall::predicate::always;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::ports::{InsertError, MockClock, MockOrderStore};
    use crate::raw_input::{RawItem, RawItems, RawOrderFields, RawValue};
    use crate::use_cases::fake_store::FakeStore;

    fn raw(order_id: &str, cost: &str) -> RawOrder {
        RawOrder::Object(RawOrderFields {
            customer_id: RawValue::Text("01".into()),
            order_id: RawValue::Text(order_id.into()),
            timestamp: RawValue::Text("1637245070513".into()),
            items: RawItems::List(vec![RawItem::Object {
                item_id: RawValue::Text("20201".into()),
                cost_eur: RawValue::Number(cost.into()),
                unknown_fields: Box::default(),
            }]),
            unknown_fields: vec![],
        })
    }

    fn fingerprint_of(order_id: &str, cost: &str) -> Fingerprint {
        validate_batch(vec![raw(order_id, cost)], 10, 100).unwrap()[0].fingerprint()
    }

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(1_700_000_000_000u64);
        Arc::new(clock)
    }

    fn use_case(store: MockOrderStore) -> SubmitOrders {
        SubmitOrders::new(
            Arc::new(store),
            clock(),
            SubmitLimits {
                max_orders_per_batch: 3,
                max_items_per_order: 2,
                max_listed_errors: 100,
            },
        )
    }

    #[tokio::test]
    async fn stores_new_orders_in_one_insert_and_collapses_identical_repeats() {
        let mut store = MockOrderStore::new();
        store
            .expect_stored_fingerprints()
            .times(1)
            .returning(|ids| {
                assert_eq!(ids.len(), 2, "repeats are looked up once");
                Ok(HashMap::new())
            });
        store
            .expect_insert_new()
            .times(1)
            .withf(|orders, at| orders.len() == 2 && *at == 1_700_000_000_000)
            .returning(|_, _| Ok(()));
        let report = use_case(store)
            .execute(vec![raw("50", "2"), raw("51", "1"), raw("50", "2.00")])
            .await
            .unwrap();
        assert_eq!(
            report,
            SubmitReport {
                accepted: 2,
                accepted_items: 2,
                duplicates: 1
            }
        );
    }

    #[tokio::test]
    async fn already_stored_identical_orders_are_duplicates_and_write_nothing() {
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().returning(|_| {
            Ok(HashMap::from([(
                OrderId::parse("50").unwrap(),
                fingerprint_of("50", "2"),
            )]))
        });
        store.expect_insert_new().never();
        let report = use_case(store).execute(vec![raw("50", "2")]).await.unwrap();
        assert_eq!(
            report,
            SubmitReport {
                accepted: 0,
                accepted_items: 0,
                duplicates: 1
            }
        );
    }

    #[tokio::test]
    async fn changed_content_under_a_stored_id_is_a_conflict_for_the_whole_batch() {
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().returning(|_| {
            Ok(HashMap::from([(
                OrderId::parse("50").unwrap(),
                fingerprint_of("50", "2"),
            )]))
        });
        store.expect_insert_new().never();
        let err = use_case(store)
            .execute(vec![raw("51", "1"), raw("50", "3")])
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SubmitError::Conflict(vec![OrderId::parse("50").unwrap()])
        );
    }

    #[tokio::test]
    async fn conflicting_repeats_inside_a_batch_touch_no_store() {
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().never();
        store.expect_insert_new().never();
        let err = use_case(store)
            .execute(vec![raw("50", "2"), raw("50", "3")])
            .await
            .unwrap_err();
        assert!(matches!(err, SubmitError::Conflict(ids) if ids.len() == 1));
    }

    #[tokio::test]
    async fn invalid_batches_and_limits_touch_no_store() {
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().never();
        store.expect_insert_new().never();
        let uc = use_case(store);

        let err = uc
            .execute(vec![raw("50", "2"), raw("51", "0.001")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SubmitError::Invalid(errors) if errors.total == 1 && errors.listed[0].index == 1 && errors.listed[0].field == "items[0].costEur"),
            "{err:?}"
        );
        assert_eq!(uc.execute(vec![]).await, Err(SubmitError::EmptyBatch));
        assert_eq!(
            uc.execute(vec![
                raw("1", "1"),
                raw("2", "1"),
                raw("3", "1"),
                raw("4", "1")
            ])
            .await,
            Err(SubmitError::TooManyOrders { count: 4, max: 3 })
        );
        let RawOrder::Object(mut fields) = raw("9", "1") else {
            unreachable!()
        };
        let RawItems::List(items) = &mut fields.items else {
            unreachable!()
        };
        let first = items[0].clone();
        items.extend([first.clone(), first]);
        assert_eq!(
            uc.execute(vec![raw("1", "1"), RawOrder::Object(fields)])
                .await,
            Err(SubmitError::TooManyItems {
                index: 1,
                count: 3,
                max: 2
            })
        );
    }

    #[tokio::test]
    async fn a_concurrent_insert_of_the_same_id_is_looked_up_again() {
        let mut store = MockOrderStore::new();
        let mut lookups = 0;
        store
            .expect_stored_fingerprints()
            .times(2)
            .returning(move |_| {
                lookups += 1;
                if lookups == 1 {
                    Ok(HashMap::new())
                } else {
                    Ok(HashMap::from([(
                        OrderId::parse("50").unwrap(),
                        fingerprint_of("50", "2"),
                    )]))
                }
            });
        store
            .expect_insert_new()
            .times(1)
            .with(always(), always())
            .returning(|_, _| Err(InsertError::AlreadyStored));
        let report = use_case(store).execute(vec![raw("50", "2")]).await.unwrap();
        assert_eq!(report.duplicates, 1);
    }

    #[tokio::test]
    async fn store_failures_are_reported_not_swallowed() {
        let mut store = MockOrderStore::new();
        store
            .expect_stored_fingerprints()
            .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
        let err = use_case(store)
            .execute(vec![raw("50", "2")])
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            SubmitError::Store(StoreError::Unavailable(_))
        ));
    }

    /// The store never answers the insert: the batch is answered 503 at the deadline, whether
    /// written alone or waiting in the queue behind a stuck writer.
    #[tokio::test]
    async fn a_submission_is_answered_unavailable_at_its_deadline() {
        let never_answers = || {
            Arc::new(FakeStore {
                gate: Some(Arc::new(Semaphore::new(0))),
                ..FakeStore::default()
            })
        };
        let deadline = Duration::from_millis(50);
        let past_deadline = |answer: &Result<SubmitReport, SubmitError>| {
            matches!(answer, Err(SubmitError::Store(StoreError::Unavailable(_))))
        };

        let alone = SubmitOrders::new(never_answers(), clock(), SubmitLimits::default())
            .with_deadline(deadline);
        assert!(past_deadline(&alone.execute(vec![raw("50", "2")]).await));

        let store = never_answers();
        let grouped = SubmitOrders::new(store.clone(), clock(), SubmitLimits::default())
            .with_write_groups(WriteGroupSettings {
                concurrency: 1,
                ..WriteGroupSettings::default()
            })
            .with_deadline(deadline);
        let (writing, queued) = tokio::join!(
            grouped.execute(vec![raw("50", "2")]),
            grouped.execute(vec![raw("51", "2")])
        );
        assert!(past_deadline(&writing));
        assert!(past_deadline(&queued));
        assert_eq!(
            store.lookups.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the queued batch never reached the store"
        );
    }
}
