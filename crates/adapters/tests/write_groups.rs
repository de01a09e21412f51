//! Write groups on the real stores (SQLite and MariaDB): submissions queued while the writer is
//! busy are written together, and each gets exactly the answer it would have got alone, in
//! arrival order: its own accepted and duplicate counts, its own 409 (against the store, against
//! an earlier request of the group, or between its own repeats). The summaries then equal the
//! sums of the stored items.
//!
//! The arrival order is made certain: the writer is held at its first insert by a transaction
//! of the test's own that writes the same order id, the requests are queued one after another,
//! and the test's transaction is rolled back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use adapters::sql::SqlOrderStore;
use application::ports::{Clock, OrderStore};
use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use application::use_cases::{
    SubmitError, SubmitLimits, SubmitOrders, SummarizeCustomers, WriteGroupSettings,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

contract!(
    crate::stores;
    queued_submissions_are_answered_as_if_written_one_after_another,
);

fn stores(db: &DatabaseConnection) -> (SqlOrderStore, DatabaseConnection) {
    (SqlOrderStore::new(db.clone()), db.clone())
}

struct FixedClock;

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        1_700_000_000_000
    }
}

/// An order: id, customer, and item costs in cents (the content a conflict differs in).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    id: &'static str,
    customer: &'static str,
    cents: Vec<i64>,
}

fn spec(id: &'static str, customer: &'static str, cents: &[i64]) -> Spec {
    Spec {
        id,
        customer,
        cents: cents.to_vec(),
    }
}

fn raw(spec: &Spec) -> RawOrder {
    RawOrder::Object(RawOrderFields {
        customer_id: RawValue::Text(spec.customer.into()),
        order_id: RawValue::Text(spec.id.into()),
        timestamp: RawValue::Text("1637245070513".into()),
        items: RawItems::List(
            spec.cents
                .iter()
                .map(|cents| RawItem::Object {
                    item_id: RawValue::Text("i".into()),
                    cost_eur: RawValue::Number(format!("{cents}e-2").into()),
                    unknown_fields: Box::default(),
                })
                .collect(),
        ),
        unknown_fields: vec![],
    })
}

/// What a request got, in a form the model can give too.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Stored { accepted: usize, duplicates: usize },
    Conflict(Vec<String>),
}

/// The service's rules, one request after another: a request naming a stored id with other
/// content, or one id twice with different content, stores nothing and names those ids.
#[derive(Default)]
struct Model {
    stored: HashMap<&'static str, Spec>,
}

impl Model {
    fn submit(&mut self, request: &[Spec]) -> Outcome {
        let mut conflicts: Vec<String> = Vec::new();
        let mut seen: HashMap<&str, &Spec> = HashMap::new();
        for order in request {
            let clash = match (self.stored.get(order.id), seen.get(order.id)) {
                (Some(stored), _) => stored != order,
                (None, Some(first)) => *first != order,
                (None, None) => false,
            };
            if clash && !conflicts.iter().any(|id| id == order.id) {
                conflicts.push(order.id.to_owned());
            }
            seen.entry(order.id).or_insert(order);
        }
        if !conflicts.is_empty() {
            return Outcome::Conflict(conflicts);
        }
        let mut accepted = 0;
        for order in request {
            if !self.stored.contains_key(order.id) {
                self.stored.insert(order.id, order.clone());
                accepted += 1;
            }
        }
        Outcome::Stored {
            accepted,
            duplicates: request.len() - accepted,
        }
    }
}

fn outcome(result: Result<application::use_cases::SubmitReport, SubmitError>) -> Outcome {
    match result {
        Ok(report) => Outcome::Stored {
            accepted: report.accepted,
            duplicates: report.duplicates,
        },
        Err(SubmitError::Conflict(ids)) => {
            let mut ids: Vec<String> = ids.into_iter().map(|id| id.into_string()).collect();
            ids.sort();
            Outcome::Conflict(ids)
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

mod cases {
    use super::*;

    pub async fn queued_submissions_are_answered_as_if_written_one_after_another(
        (store, db): (SqlOrderStore, DatabaseConnection),
    ) {
        let store: Arc<dyn OrderStore> = Arc::new(store);
        let submit = Arc::new(
            SubmitOrders::new(store.clone(), Arc::new(FixedClock), SubmitLimits::default())
                .with_write_groups(WriteGroupSettings {
                    concurrency: 1,
                    ..WriteGroupSettings::default()
                }),
        );
        let blocker = spec("held", "k", &[100]);
        let requests: Vec<Vec<Spec>> = vec![
            vec![spec("a", "x", &[100]), spec("b", "y", &[250, 5])],
            // The same again: duplicates.
            vec![spec("a", "x", &[100])],
            // `a` with other content: refused whole, so `c` stays free.
            vec![spec("a", "x", &[999]), spec("c", "y", &[1])],
            vec![spec("c", "y", &[1])],
            // Identical repeats inside one request: duplicates too.
            vec![spec("c", "y", &[1]), spec("c", "y", &[1])],
            // Two contents of `d` in one request: its own conflict.
            vec![spec("d", "x", &[1]), spec("d", "x", &[2])],
            vec![spec("d", "x", &[2])],
            // `b` with other content, after `b` was taken earlier in the group.
            vec![spec("b", "y", &[250]), spec("e", "x", &[0])],
            // The order the writer was held at, sent again by another client.
            vec![blocker.clone()],
            vec![spec("e", "x", &[0]), spec("f", "z", &[1, 2, 3])],
        ];

        // Hold the writer: a transaction of ours writes the blocker's order id first.
        let holder = db.begin().await.unwrap();
        holder
            .execute_unprepared(
                "INSERT INTO orders (order_id, customer_id, order_ts, item_count, total_cents, \
                 fingerprint, received_at) VALUES ('held', 'k', 1, 1, 100, 'held-by-the-test', 1)",
            )
            .await
            .unwrap();
        let first = tokio::spawn({
            let submit = submit.clone();
            let blocker = raw(&blocker);
            async move { submit.execute(vec![blocker]).await }
        });
        // The writer looks the blocker up, then waits at its insert.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // One after another, each queued before the next is sent (a current-thread runtime runs
        // spawned tasks in spawn order, each up to its wait for the answer).
        let mut answers = Vec::new();
        for request in &requests {
            let submit = submit.clone();
            let batch: Vec<RawOrder> = request.iter().map(raw).collect();
            answers.push(tokio::spawn(async move { submit.execute(batch).await }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Held until now, so every request above waited in the queue and is written as one
        // group (at most 64 requests a group) after the blocker.
        assert!(!first.is_finished(), "the writer was not held");
        holder.rollback().await.unwrap();

        let mut model = Model::default();
        assert_eq!(outcome(first.await.unwrap()), model.submit(&[blocker]));
        for (n, (request, answer)) in requests.iter().zip(answers).enumerate() {
            let expected = match model.submit(request) {
                Outcome::Conflict(mut ids) => {
                    ids.sort();
                    Outcome::Conflict(ids)
                }
                stored => stored,
            };
            assert_eq!(
                outcome(answer.await.unwrap()),
                expected,
                "request {n}: {request:?}"
            );
        }

        // The summaries are the sums of what the model says was stored.
        let mut expected: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
        for order in model.stored.values() {
            let entry = expected.entry(order.customer).or_default();
            entry.0 += order.cents.len() as u64;
            entry.1 += order.cents.iter().sum::<i64>();
        }
        let summaries = SummarizeCustomers::new(store)
            .execute(Default::default())
            .await
            .unwrap();
        let got: BTreeMap<&str, (u64, i64)> = summaries
            .items
            .iter()
            .map(|s| (s.customer_id.as_str(), (s.purchased_items, s.total.cents())))
            .collect();
        assert_eq!(got, expected);
    }
}
