//! Bulk import: orders read from a file go through the same submit use case (validation, limits,
//! idempotency) as `POST /orders`, but a bad order does not stop the others. Each chunk of the
//! file is submitted as one batch; the orders the batch refuses are set aside with their field
//! errors and the rest is submitted again, so the valid orders of a chunk are stored atomically
//! and nothing is stored twice when an interrupted import is simply run again.

use std::collections::HashSet;

use domain::OrderId;

use crate::ports::StoreError;
use crate::raw_input::{RawItems, RawOrder, RawOrderFields, RawValue};

use super::{FieldError, SubmitError, SubmitOrders, echo};

/// An order as read from a file, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedOrder {
    pub line: u64,
    pub order: RawOrder,
}

impl SourcedOrder {
    /// The order id as written, when it is a string.
    pub fn order_id(&self) -> Option<&str> {
        order_id_text(&self.order)
    }
}

/// One problem of a rejected order, as the API reports it (`field` is a path such as
/// `items[2].costEur`, empty for the order as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub field: String,
    pub message: String,
}

/// An order that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedOrder {
    pub line: u64,
    /// The order id as written, when there was one.
    pub order_id: Option<String>,
    pub problems: Vec<ImportProblem>,
}

/// What importing one chunk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkReport {
    /// Orders newly stored.
    pub stored: usize,
    /// Items of the orders newly stored.
    pub stored_items: usize,
    /// Orders already stored with the same content (a re-run after an interruption).
    pub duplicates: usize,
    /// In the order of their lines.
    pub rejected: Vec<RejectedOrder>,
}

/// Use case: store a chunk of imported orders, setting aside the ones that cannot be stored.
#[derive(Debug, Clone)]
pub struct ImportOrders {
    submit: SubmitOrders,
}

impl ImportOrders {
    pub fn new(submit: SubmitOrders) -> Self {
        Self { submit }
    }

    /// A chunk builder whose chunks fit this use case's batch limits, and hold at most about
    /// `max_items_per_chunk` items and `max_bytes_per_chunk` bytes of raw orders.
    pub fn chunker(&self, max_items_per_chunk: usize, max_bytes_per_chunk: usize) -> Chunker {
        Chunker::new(
            self.submit.limits().max_orders_per_batch,
            max_items_per_chunk,
            max_bytes_per_chunk,
        )
    }

    /// Stores the valid new orders of `chunk` in one transaction; invalid, oversized and
    /// conflicting orders are returned as rejected. Fails only when the store does: then
    /// nothing of the chunk was stored and the import can be run again.
    ///
    /// `chunk` must come from a [`Chunker`]: within the batch limits and with no order id twice.
    pub async fn import_chunk(&self, chunk: Vec<SourcedOrder>) -> Result<ChunkReport, StoreError> {
        let mut report = ChunkReport::default();
        // Each order validated on its own, so that every invalid one is found (a batch lists
        // only its first problems) and the rest is validated once.
        let mut lines = Vec::with_capacity(chunk.len());
        let mut orders = Vec::with_capacity(chunk.len());
        for entry in chunk {
            let order_id = entry.order_id().map(echo);
            match self.submit.validate_one(entry.order) {
                Ok(order) => {
                    lines.push(entry.line);
                    orders.push(order);
                }
                Err(errors) => report.rejected.push(RejectedOrder {
                    line: entry.line,
                    order_id,
                    problems: problems(errors.listed),
                }),
            }
        }
        // Every round removes at least one order or ends, so this ends.
        while !orders.is_empty() {
            match self.submit.store_valid(&orders).await {
                Ok(stored) => {
                    report.stored += stored.accepted;
                    report.stored_items += stored.accepted_items;
                    report.duplicates += stored.duplicates;
                    break;
                }
                Err(SubmitError::Conflict(ids)) => {
                    let ids: HashSet<OrderId> = ids.into_iter().collect();
                    let before = orders.len();
                    let mut index = 0;
                    while index < orders.len() {
                        if ids.contains(orders[index].order_id()) {
                            let order = orders.remove(index);
                            report.rejected.push(RejectedOrder {
                                line: lines.remove(index),
                                order_id: Some(order.order_id().as_str().to_owned()),
                                problems: vec![ImportProblem {
                                    field: "orderId".into(),
                                    message: "already stored with different content".into(),
                                }],
                            });
                        } else {
                            index += 1;
                        }
                    }
                    if orders.len() == before {
                        return Err(StoreError::Internal(
                            "a conflict named no order of the chunk".into(),
                        ));
                    }
                }
                Err(SubmitError::Store(error)) => return Err(error),
                Err(error) => {
                    return Err(StoreError::Internal(format!(
                        "valid orders of an import chunk were refused: {error}"
                    )));
                }
            }
        }
        report.rejected.sort_by_key(|rejected| rejected.line);
        Ok(report)
    }
}

fn problems(errors: Vec<FieldError>) -> Vec<ImportProblem> {
    errors
        .into_iter()
        .map(|error| ImportProblem {
            field: error.field,
            message: error.message,
        })
        .collect()
}

fn order_id_text(order: &RawOrder) -> Option<&str> {
    match order {
        RawOrder::Object(RawOrderFields {
            order_id: RawValue::Text(id),
            ..
        }) => Some(id),
        _ => None,
    }
}

fn item_count(order: &RawOrder) -> usize {
    match order {
        RawOrder::Object(RawOrderFields {
            items: RawItems::List(items),
            ..
        }) => items.len(),
        _ => 0,
    }
}

/// Cuts a stream of orders into chunks that fit one batch: at most `max_orders` orders and
/// about `max_items` items and `max_bytes` bytes (an order is never split), and no order id
/// twice, so that a repeat
/// later in the file is compared with the stored order (a duplicate, or a conflict) exactly as
/// if the two had been sent one after the other.
#[derive(Debug)]
pub struct Chunker {
    max_orders: usize,
    max_items: usize,
    max_bytes: usize,
    chunk: Vec<SourcedOrder>,
    ids: HashSet<String>,
    items: usize,
    bytes: usize,
}

impl Chunker {
    fn new(max_orders: usize, max_items: usize, max_bytes: usize) -> Self {
        Self {
            max_orders: max_orders.max(1),
            max_items: max_items.max(1),
            max_bytes: max_bytes.max(1),
            chunk: Vec::new(),
            ids: HashSet::new(),
            items: 0,
            bytes: 0,
        }
    }

    /// Adds an order; returns the chunk it did not fit into, which is ready to import.
    pub fn push(&mut self, entry: SourcedOrder) -> Option<Vec<SourcedOrder>> {
        let id = order_id_text(&entry.order).map(str::to_owned);
        let items = item_count(&entry.order);
        let bytes = entry.order.approx_bytes();
        let full = !self.chunk.is_empty()
            && (self.chunk.len() >= self.max_orders
                || self.items + items > self.max_items
                || self.bytes + bytes > self.max_bytes
                || id.as_ref().is_some_and(|id| self.ids.contains(id)));
        let ready = full.then(|| self.take());
        self.items += items;
        self.bytes += bytes;
        if let Some(id) = id {
            self.ids.insert(id);
        }
        self.chunk.push(entry);
        ready
    }

    /// The last chunk, if any order is left.
    pub fn finish(&mut self) -> Option<Vec<SourcedOrder>> {
        (!self.chunk.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Vec<SourcedOrder> {
        self.ids.clear();
        self.items = 0;
        self.bytes = 0;
        std::mem::take(&mut self.chunk)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::ports::{InsertError, MockClock, MockOrderStore};
    use crate::raw_input::{RawItem, RawItems, RawOrderFields};
    use crate::use_cases::SubmitLimits;

    fn raw(order_id: &str, cost: &str, items: usize) -> RawOrder {
        RawOrder::Object(RawOrderFields {
            customer_id: RawValue::Text("01".into()),
            order_id: RawValue::Text(order_id.into()),
            timestamp: RawValue::Text("1637245070513".into()),
            items: RawItems::List(
                (0..items)
                    .map(|_| RawItem::Object {
                        item_id: RawValue::Text("20201".into()),
                        cost_eur: RawValue::Number(cost.into()),
                        unknown_fields: Box::default(),
                    })
                    .collect(),
            ),
            unknown_fields: vec![],
        })
    }

    fn sourced(line: u64, order: RawOrder) -> SourcedOrder {
        SourcedOrder { line, order }
    }

    fn import(store: MockOrderStore) -> ImportOrders {
        let mut clock = MockClock::new();
        clock.expect_now_millis().return_const(1_700_000_000_000u64);
        ImportOrders::new(SubmitOrders::new(
            Arc::new(store),
            Arc::new(clock),
            SubmitLimits {
                max_orders_per_batch: 10,
                max_items_per_order: 3,
                max_listed_errors: 100,
            },
        ))
    }

    #[tokio::test]
    async fn bad_orders_are_set_aside_and_the_rest_stored_in_one_insert() {
        let mut store = MockOrderStore::new();
        store
            .expect_stored_fingerprints()
            .returning(|_| Ok(HashMap::new()));
        store
            .expect_insert_new()
            .times(1)
            .withf(|orders, _| {
                orders
                    .iter()
                    .map(|o| o.order_id().as_str())
                    .collect::<Vec<_>>()
                    == ["1", "4"]
            })
            .returning(|_, _| Ok(()));
        let report = import(store)
            .import_chunk(vec![
                sourced(1, raw("1", "2", 1)),
                sourced(2, raw("2", "0.001", 1)),
                sourced(3, raw("3", "1", 4)),
                sourced(5, raw("4", "1", 2)),
            ])
            .await
            .unwrap();
        assert_eq!(report.stored, 2);
        assert_eq!(report.stored_items, 3);
        assert_eq!(report.duplicates, 0);
        let rejected: Vec<(u64, Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.order_id.as_deref(), r.problems[0].field.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [(2, Some("2"), "items[0].costEur"), (3, Some("3"), "items")]
        );
    }

    #[tokio::test]
    async fn a_conflict_with_a_stored_order_rejects_only_that_order() {
        let stored =
            match super::super::validate_batch::validate_batch(vec![raw("7", "5", 1)], 3, 100) {
                Ok(orders) => orders[0].fingerprint(),
                Err(errors) => panic!("{errors:?}"),
            };
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().returning(move |ids| {
            Ok(ids
                .iter()
                .filter(|id| id.as_str() == "7" || id.as_str() == "8")
                .map(|id| (id.clone(), stored))
                .collect())
        });
        store
            .expect_insert_new()
            .times(1)
            .withf(|orders, _| orders.len() == 1 && orders[0].order_id().as_str() == "9")
            .returning(|_, _| Ok(()));
        let report = import(store)
            .import_chunk(vec![
                sourced(1, raw("7", "5", 1)),
                sourced(2, raw("8", "6", 1)),
                sourced(3, raw("9", "1", 1)),
            ])
            .await
            .unwrap();
        assert_eq!((report.stored, report.duplicates), (1, 1));
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].line, 2);
        assert_eq!(report.rejected[0].problems[0].field, "orderId");
    }

    #[tokio::test]
    async fn a_store_failure_stops_the_import() {
        let mut store = MockOrderStore::new();
        store
            .expect_stored_fingerprints()
            .returning(|_| Ok(HashMap::new()));
        store
            .expect_insert_new()
            .returning(|_, _| Err(InsertError::Store(StoreError::Unavailable("down".into()))));
        let error = import(store)
            .import_chunk(vec![sourced(1, raw("1", "2", 1))])
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)));
    }

    #[tokio::test]
    async fn a_chunk_of_only_bad_orders_touches_no_store() {
        let mut store = MockOrderStore::new();
        store.expect_stored_fingerprints().never();
        store.expect_insert_new().never();
        let report = import(store)
            .import_chunk(vec![sourced(4, RawOrder::NotAnObject("string"))])
            .await
            .unwrap();
        assert_eq!(report.stored, 0);
        assert_eq!(report.rejected[0].line, 4);
        assert_eq!(report.rejected[0].order_id, None);
    }

    #[test]
    fn chunks_respect_the_order_and_item_limits_and_never_repeat_an_id() {
        let mut chunker = Chunker::new(3, 5, usize::MAX);
        let mut chunks = Vec::new();
        let orders = [
            ("a", 2),
            ("b", 2),
            ("c", 2),
            ("d", 1),
            ("e", 1),
            ("f", 1),
            ("f", 1),
            ("g", 9),
        ];
        for (line, (id, items)) in orders.into_iter().enumerate() {
            chunks.extend(chunker.push(sourced(line as u64, raw(id, "1", items))));
        }
        chunks.extend(chunker.finish());
        let ids: Vec<Vec<&str>> = chunks
            .iter()
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|entry| order_id_text(&entry.order).unwrap_or("?"))
                    .collect()
            })
            .collect();
        assert_eq!(
            ids,
            [
                vec!["a", "b"],
                vec!["c", "d", "e"],
                vec!["f"],
                vec!["f"],
                vec!["g"]
            ]
        );
        assert!(chunker.finish().is_none());

        // Few items but long ids: the byte bound cuts the chunk.
        let long = "x".repeat(60);
        let one = raw(&long, "1", 1).approx_bytes();
        let mut chunker = Chunker::new(100, 100, one + one / 2);
        let mut sizes = Vec::new();
        for n in 0..5 {
            let ready = chunker.push(sourced(n, raw(&format!("{long}{n}"), "1", 1)));
            sizes.extend(ready.map(|chunk| chunk.len()));
        }
        sizes.extend(chunker.finish().map(|chunk| chunk.len()));
        assert_eq!(sizes, [1, 1, 1, 1, 1]);
    }
}
