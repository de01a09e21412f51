//! The body path of `POST /orders` as one synchronous call: the strict JSON parse (duplicate
//! keys refused, the body size limit), the DTO mapping, the submit use case's validation and
//! idempotency checks, and the mapping of its errors to problem+json, exactly as the route runs
//! them, on a store that starts empty for every call.
//!
//! For the cargo-fuzz target in `fuzz/` and the test that replays its corpus; compiled only
//! with the off-by-default `fuzzing` feature (and in this crate's own tests), so the product
//! never contains it. Headers (content type, encoding, declared length) are not part of it:
//! the fuzzer has no headers to vary.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use actix_web::ResponseError;
use application::ports::{
    Clock, CustomerSummary, InsertError, ItemKey, OrderStore, PurchasedItem, StoreError,
};
use application::use_cases::{SubmitLimits, SubmitOrders};
use domain::{CustomerId, Fingerprint, Order, OrderId};
use serde_json::Value;

use crate::Problem;
use crate::dto::orders::{SubmitResponse, batch_from_slice};

/// The body limit the server applies unless configured otherwise.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What `POST /orders` would answer for a body, and what it would have stored.
#[derive(Debug)]
pub struct BodyOutcome {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's JSON body (`{"status":"ok",...}` or a problem).
    pub body: Vec<u8>,
    /// How many entries the body's batch had, when it got as far as being a batch.
    pub submitted: Option<usize>,
    /// The orders handed to the store, in the order of the batch.
    pub stored: Vec<Order>,
}

/// Runs `body` through the `POST /orders` path with the default limits, on an empty store.
pub fn submit_body(body: &[u8]) -> BodyOutcome {
    let store = Arc::new(EmptyStore::default());
    let submit = SubmitOrders::new(store.clone(), Arc::new(FixedClock), SubmitLimits::default());
    let mut submitted = None;
    let answer = (|| {
        if body.len() > MAX_BODY_BYTES {
            return Err(crate::json_body::too_large(MAX_BODY_BYTES));
        }
        let batch = batch_from_slice(body)?;
        submitted = Some(batch.len());
        let report = run_ready(submit.execute(batch))
            .ok_or_else(|| Problem::bad_request("the use case waited on nothing: a bug"))?
            .map_err(crate::routes::orders::submit_problem)?;
        Ok(report)
    })();
    let (status, body) = match answer {
        Ok(report) => {
            let status = if report.accepted > 0 { 201 } else { 200 };
            let response = SubmitResponse {
                status: "ok",
                accepted: report.accepted,
                duplicates: report.duplicates,
            };
            (status, serde_json::to_vec(&response).unwrap_or_default())
        }
        Err(problem) => (
            problem.status_code().as_u16(),
            serde_json::to_vec(&problem).unwrap_or_default(),
        ),
    };
    BodyOutcome {
        status,
        body,
        submitted,
        stored: store.take(),
    }
}

impl BodyOutcome {
    /// Every promise of the contract this outcome breaks (empty when it keeps them all): never a
    /// 5xx, a JSON answer, nothing stored unless accepted, counts that add up, orders whose
    /// totals are the sums of their items, and stored orders that round-trip through the wire
    /// format unchanged.
    pub fn broken_promises(&self) -> Vec<String> {
        let mut broken = Vec::new();
        if !matches!(self.status, 200 | 201 | 400 | 409 | 413) {
            broken.push(format!(
                "status {} is not one POST /orders may answer",
                self.status
            ));
        }
        let answer: Option<Value> = serde_json::from_slice(&self.body).ok();
        let Some(answer) = answer else {
            broken.push("the answer is not JSON".into());
            return broken;
        };
        if self.status >= 400 {
            if !self.stored.is_empty() {
                broken.push(format!("status {} but orders were stored", self.status));
            }
            if answer["status"].as_u64() != Some(u64::from(self.status)) {
                broken.push("the problem's status differs from the HTTP status".into());
            }
            return broken;
        }
        let accepted = answer["accepted"].as_u64().unwrap_or(u64::MAX);
        let duplicates = answer["duplicates"].as_u64().unwrap_or(u64::MAX);
        if accepted != self.stored.len() as u64 {
            broken.push(format!(
                "{accepted} accepted but {} stored",
                self.stored.len()
            ));
        }
        if (self.status == 201) != (accepted > 0) {
            broken.push(format!("status {} with {accepted} accepted", self.status));
        }
        if self.submitted.map(|n| n as u64) != accepted.checked_add(duplicates) {
            broken.push(format!(
                "{accepted} accepted + {duplicates} duplicates != {:?} submitted",
                self.submitted
            ));
        }
        let mut ids = HashSet::new();
        for order in &self.stored {
            if !ids.insert(order.order_id()) {
                broken.push(format!("order id {} stored twice", order.order_id()));
            }
            let sum = order
                .items()
                .iter()
                .try_fold(0i64, |sum, item| sum.checked_add(item.cost().cents()));
            if order.items().is_empty() || sum != Some(order.total().cents()) {
                broken.push(format!("order {} has a wrong total", order.order_id()));
            }
        }
        if !self.stored.is_empty() {
            let again = submit_body(to_wire_json(&self.stored).as_bytes());
            if again.status != 201 || again.stored != self.stored {
                broken.push(format!(
                    "the stored orders do not round-trip through the wire format (status {})",
                    again.status
                ));
            }
        }
        broken
    }
}

/// Orders in the canonical wire format of `POST /orders`: an array of
/// `{"customerId","orderId","timestamp","items":[{"itemId","costEur"}]}` with the timestamp as
/// a string of digits and each cost in its shortest exact decimal form.
pub fn to_wire_json(orders: &[Order]) -> String {
    let text = |s: &str| Value::String(s.to_owned()).to_string();
    let entries: Vec<String> = orders
        .iter()
        .map(|order| {
            let items: Vec<String> = order
                .items()
                .iter()
                .map(|item| {
                    format!(
                        r#"{{"itemId":{},"costEur":{}}}"#,
                        text(item.item_id().as_str()),
                        item.cost().to_decimal_string()
                    )
                })
                .collect();
            format!(
                r#"{{"customerId":{},"orderId":{},"timestamp":"{}","items":[{}]}}"#,
                text(order.customer_id().as_str()),
                text(order.order_id().as_str()),
                order.timestamp().millis(),
                items.join(",")
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}

/// Polls a future whose every await is already complete (the store below never waits); `None`
/// if it keeps pending, which would be a bug of this harness rather than of the input.
fn run_ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    (0..1000).find_map(|_| match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    })
}

/// A store that holds nothing before the call and records what the use case inserts.
#[derive(Debug, Default)]
struct EmptyStore {
    inserted: Mutex<Vec<Order>>,
}

impl EmptyStore {
    fn take(&self) -> Vec<Order> {
        std::mem::take(&mut *self.inserted.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait::async_trait]
impl OrderStore for EmptyStore {
    async fn stored_fingerprints(
        &self,
        _ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Fingerprint>, StoreError> {
        Ok(HashMap::new())
    }

    async fn insert_new(&self, orders: &[Order], _received_at_ms: u64) -> Result<(), InsertError> {
        self.inserted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(orders);
        Ok(())
    }

    async fn customer_items(
        &self,
        _customer: &CustomerId,
        _after: Option<ItemKey>,
        _limit: usize,
    ) -> Result<Vec<PurchasedItem>, StoreError> {
        Ok(Vec::new())
    }

    async fn customer_exists(&self, _customer: &CustomerId) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn customer_summaries(
        &self,
        _after: Option<CustomerId>,
        _limit: usize,
    ) -> Result<Vec<CustomerSummary>, StoreError> {
        Ok(Vec::new())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        1_700_000_000_000
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

    use super::*;

    /// The committed fuzzing corpus, plus any crash the fuzzer saved and someone committed
    /// there: each file stays a regression test without the fuzzer.
    #[test]
    fn every_committed_corpus_body_keeps_the_contract() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/orders_body");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 10,
            "the corpus in {} is missing",
            dir.display()
        );
        let mut statuses = HashMap::<u16, usize>::new();
        for path in &files {
            let body = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| submit_body(&body))
                .unwrap_or_else(|_| panic!("{} panicked", path.display()));
            let broken = outcome.broken_promises();
            assert!(broken.is_empty(), "{}: {broken:?}", path.display());
            *statuses.entry(outcome.status).or_default() += 1;
        }
        // The corpus must keep reaching past the parser, or it tests little.
        for status in [201, 400] {
            assert!(
                statuses.contains_key(&status),
                "no {status} in {statuses:?}"
            );
        }
    }

    #[test]
    fn the_sample_is_stored_and_hostile_bodies_are_refused_whole() {
        let sample = br#"[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"20201","costEur":2}]}]"#;
        let outcome = submit_body(sample);
        assert_eq!(outcome.status, 201);
        assert_eq!(outcome.stored.len(), 1);
        assert!(outcome.broken_promises().is_empty());
        for (body, status) in [
            (&br#"{"a":1,"a":2}"#[..], 400),
            (br#"[]"#, 400),
            (br#"[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"a","costEur":2}]},{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"a","costEur":3}]}]"#, 409),
            (&vec![b' '; MAX_BODY_BYTES + 1], 413),
        ] {
            let outcome = submit_body(body);
            assert_eq!(outcome.status, status, "{:?}", String::from_utf8_lossy(&outcome.body));
            assert!(outcome.stored.is_empty());
            assert!(outcome.broken_promises().is_empty());
        }
    }
}
