//! Concurrent submissions carried into the store together: one lookup, one transaction, one
//! commit for a group of requests, each answered only after that commit with exactly what it
//! would have got alone, in arrival order.
//!
//! Why: a single-order request costs the database a lookup, three inserts and a commit (an
//! fsync with durable settings), so shops that send orders one by one were held to a fraction
//! of batch throughput. Requests that arrive while every writer is busy wait in a bounded queue
//! and the next free writer takes as many as fit in a group; a request that finds a writer free
//! is written at once, alone: nothing waits for a group to fill.
//!
//! Semantics per request: its own `accepted` / `duplicates`, its own 409 when an order id is
//! stored with other content or was taken by an earlier request of the group (the first in
//! arrival order wins, as if they had come one after another). When the group's transaction
//! fails for a reason other than the store being down or busy, the group is written again one
//! request at a time, in order, so that only the guilty request gets the error.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use domain::{Fingerprint, Order, OrderId};
use tokio::sync::oneshot;

use super::submit_outcome::{SubmitError, SubmitReport, collapse_repeats};
use crate::ports::{Clock, InsertError, OrderStore, StoreError};

/// How concurrent submissions share transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteGroupSettings {
    /// Groups written at the same time, each in a transaction of its own (at least 1).
    pub concurrency: usize,
    /// The most requests one transaction carries (at least 1).
    pub max_requests: usize,
    /// The most orders one transaction carries; a larger request is written alone.
    pub max_orders: usize,
    /// The most items one transaction carries; a larger request is written alone. With the
    /// order bound, a group costs the database no more than one large request may.
    pub max_items: usize,
    /// Requests waiting for a writer; beyond it a submission is refused at once (503).
    pub max_queued: usize,
}

impl Default for WriteGroupSettings {
    fn default() -> Self {
        Self {
            concurrency: 10,
            max_requests: 64,
            max_orders: 1000,
            max_items: 10_000,
            max_queued: 1024,
        }
    }
}

/// Rounds of look up, decide, insert for one group. A round ends the group unless its insert
/// lost a race: another writer (group, replica) stored one of its new order ids between the
/// lookup and the insert, so the decision was taken on stale facts and is taken again on a
/// fresh lookup, where that order now is a duplicate or a conflict. This is the domain's
/// re-decision, not a retry of a failed write: transient faults of the write (deadlock, lock
/// wait timeout, Galera certification failure) are retried inside the store adapter only, and
/// come back here as a final answer. Each lost race settles the ids it was about, so a few
/// rounds settle any burst of races; after them the group is answered 503.
const MAX_DECISION_ROUNDS: usize = 4;

type Answer = Result<SubmitReport, SubmitError>;

/// One request waiting for a writer.
struct Waiting {
    orders: Vec<Order>,
    reply: oneshot::Sender<Answer>,
    /// While the request waits: a writer that finishes hands its place over through it, and
    /// this request then writes the next group, on its own worker thread (writing from one
    /// long-lived task would pile every group's work onto the thread that task runs on).
    lead: Option<oneshot::Sender<WriterSlot>>,
    /// Whatever the caller keeps alive as long as the orders are (its body's memory
    /// reservation): dropped with them, answered or not.
    _hold: Box<dyn Send + Sync>,
}

impl Waiting {
    fn items(&self) -> usize {
        self.orders.iter().map(|order| order.items().len()).sum()
    }
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// Writer places taken (at most `concurrency`): one per group being written, or handed to
    /// a request that is about to write one.
    writers: usize,
}

/// The queue of submissions and the places of the writers that empty it.
pub(super) struct WriteGroups {
    store: Arc<dyn OrderStore>,
    clock: Arc<dyn Clock>,
    settings: WriteGroupSettings,
    queue: Mutex<Queue>,
}

impl WriteGroups {
    pub(super) fn new(
        store: Arc<dyn OrderStore>,
        clock: Arc<dyn Clock>,
        settings: WriteGroupSettings,
    ) -> Self {
        Self {
            store,
            clock,
            settings: WriteGroupSettings {
                concurrency: settings.concurrency.max(1),
                max_requests: settings.max_requests.max(1),
                max_orders: settings.max_orders.max(1),
                max_items: settings.max_items.max(1),
                max_queued: settings.max_queued.max(1),
            },
            queue: Mutex::new(Queue::default()),
        }
    }

    pub(super) fn settings(&self) -> WriteGroupSettings {
        self.settings
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change under the lock is a push, a pop or a counter step: consistent whatever
        // panicked while holding it.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores the new ones of `orders` (valid, without repeats of other content) with whatever
    /// other submissions are waiting; answers once their transaction has committed.
    pub(super) async fn submit(
        self: &Arc<Self>,
        orders: Vec<Order>,
        hold: Box<dyn Send + Sync>,
    ) -> Answer {
        let (reply, mut answer) = oneshot::channel();
        let (lead, mut led) = oneshot::channel();
        let slot = {
            let mut queue = self.lock();
            if queue.waiting.len() >= self.settings.max_queued {
                // Requests whose callers left free their places (and memory) first.
                queue.waiting.retain(|waiting| !waiting.reply.is_closed());
            }
            if queue.waiting.len() >= self.settings.max_queued {
                metrics::counter!("order_manager_write_queue_full_total").increment(1);
                return Err(SubmitError::Busy);
            }
            queue.waiting.push_back(Waiting {
                orders,
                reply,
                lead: Some(lead),
                _hold: hold,
            });
            (queue.writers < self.settings.concurrency).then(|| {
                queue.writers += 1;
                WriterSlot::new(Arc::clone(self))
            })
        };
        if let Some(slot) = slot {
            self.start_group(slot);
        }
        let mut leading = false;
        loop {
            tokio::select! {
                answered = &mut answer => {
                    return answered.unwrap_or_else(|_| {
                        Err(SubmitError::Store(StoreError::Internal(
                            "the writer of this submission stopped before answering".to_owned(),
                        )))
                    });
                }
                slot = &mut led, if !leading => {
                    leading = true;
                    // Closed without a place: this request was taken into a group.
                    if let Ok(slot) = slot {
                        self.start_group(slot);
                    }
                }
            }
        }
    }

    /// Takes the next group off the queue and writes it on a task of its own (a caller that
    /// leaves does not stop the others' write), on the current thread; the place goes to the
    /// next waiting request afterwards.
    fn start_group(self: &Arc<Self>, slot: WriterSlot) {
        let group = take_group(&mut self.lock().waiting, self.settings);
        if group.is_empty() {
            return;
        }
        let groups = Arc::clone(self);
        tokio::spawn(async move {
            groups.write(group).await;
            drop(slot);
        });
    }

    async fn write(&self, group: Vec<Waiting>) {
        metrics::histogram!("order_manager_db_submissions_per_transaction")
            .record(group.len() as f64);
        let requests: Vec<&[Order]> = group.iter().map(|w| w.orders.as_slice()).collect();
        let answers = match commit_group(&*self.store, &*self.clock, &requests).await {
            Committed::Answers(answers) => answers,
            Committed::Split => {
                let mut answers = Vec::with_capacity(requests.len());
                for (waiting, request) in group.iter().zip(&requests) {
                    // Nobody waits for the answer: nothing to write (the client retries).
                    answers.push(if waiting.reply.is_closed() {
                        Err(SubmitError::Busy)
                    } else {
                        commit_one(&*self.store, &*self.clock, request).await
                    });
                }
                answers
            }
        };
        for (waiting, answer) in group.into_iter().zip(answers) {
            // A caller that gave up (timeout, client gone) no longer listens.
            let _ = waiting.reply.send(answer);
        }
    }
}

/// The next group: waiting requests in arrival order, up to the request, order and item limits
/// (a request larger than a limit alone). Requests whose caller gave up are dropped: under
/// overload their work would only delay the ones still waiting.
fn take_group(waiting: &mut VecDeque<Waiting>, settings: WriteGroupSettings) -> Vec<Waiting> {
    let mut group = Vec::new();
    let (mut orders, mut items) = (0, 0);
    while group.len() < settings.max_requests {
        let Some(next) = waiting.front() else {
            break;
        };
        if next.reply.is_closed() {
            waiting.pop_front();
            continue;
        }
        let next_items = next.items();
        if !group.is_empty()
            && (orders + next.orders.len() > settings.max_orders
                || items + next_items > settings.max_items)
        {
            break;
        }
        orders += next.orders.len();
        items += next_items;
        group.extend(waiting.pop_front());
    }
    group
}

/// One of the `concurrency` writer places. Dropped, however its writer ended (done, a panic, a
/// group found empty), it goes to the first request still waiting, or back to the pool when
/// none waits: the queue never stalls and never holds more writers than places.
struct WriterSlot {
    groups: Arc<WriteGroups>,
    armed: bool,
}

impl WriterSlot {
    fn new(groups: Arc<WriteGroups>) -> Self {
        Self {
            groups,
            armed: true,
        }
    }
}

impl Drop for WriterSlot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut queue = self.groups.lock();
        loop {
            let next = queue
                .waiting
                .iter_mut()
                .filter(|waiting| !waiting.reply.is_closed())
                .find_map(|waiting| waiting.lead.take());
            let Some(lead) = next else {
                queue.writers -= 1;
                return;
            };
            match lead.send(WriterSlot::new(Arc::clone(&self.groups))) {
                Ok(()) => return,
                // That request stopped waiting: the place is not given twice; try the next.
                Err(mut refused) => refused.armed = false,
            }
        }
    }
}

/// How a group's transaction ended.
pub(super) enum Committed {
    /// One answer per request, in order.
    Answers(Vec<Answer>),
    /// The shared transaction failed in a way one request may have caused: write each alone.
    Split,
}

/// One request alone: the same path, never split.
pub(super) async fn commit_one(
    store: &dyn OrderStore,
    clock: &dyn Clock,
    orders: &[Order],
) -> Answer {
    match commit_group(store, clock, &[orders]).await {
        Committed::Answers(mut answers) => answers.pop().unwrap_or(Err(SubmitError::EmptyBatch)),
        Committed::Split => Err(SubmitError::Store(StoreError::Contention(
            "concurrent submissions of the same order ids".to_owned(),
        ))),
    }
}

/// Looks up every order id of the group, decides each request's answer in arrival order, and
/// stores all their new orders in one transaction.
pub(super) async fn commit_group(
    store: &dyn OrderStore,
    clock: &dyn Clock,
    requests: &[&[Order]],
) -> Committed {
    // Each request's distinct orders, or its own conflict between repeats.
    let unique: Vec<Result<Vec<(&Order, Fingerprint)>, SubmitError>> = requests
        .iter()
        .map(|orders| {
            if orders.is_empty() {
                Err(SubmitError::EmptyBatch)
            } else {
                collapse_repeats(orders)
            }
        })
        .collect();
    let mut ids: Vec<OrderId> = Vec::new();
    let mut seen: HashSet<&OrderId> = HashSet::new();
    for (order, _) in unique.iter().flatten().flatten() {
        if seen.insert(order.order_id()) {
            ids.push(order.order_id().clone());
        }
    }
    let live = unique.iter().filter(|request| request.is_ok()).count();
    for _round in 0..MAX_DECISION_ROUNDS {
        let stored = if ids.is_empty() {
            HashMap::new()
        } else {
            match store.stored_fingerprints(&ids).await {
                Ok(stored) => stored,
                // The store is down for everyone: each alone would meet the same.
                Err(err @ StoreError::Unavailable(_)) => {
                    return Committed::Answers(answer_all(&unique, &err));
                }
                // Say, one corrupt stored row, or a lock one request's ids wait on: alone,
                // only the requests it concerns fail.
                Err(_) if live > 1 => return Committed::Split,
                Err(err) => return Committed::Answers(answer_all(&unique, &err)),
            }
        };
        let (answers, new_orders) = decide(&unique, requests, stored);
        if !new_orders.is_empty() {
            let inserted = match single_request_all_new(requests, &new_orders) {
                Some(orders) => store.insert_new(orders, clock.now_millis()).await,
                None => {
                    let owned: Vec<Order> = new_orders.iter().map(|o| (*o).clone()).collect();
                    store.insert_new(&owned, clock.now_millis()).await
                }
            };
            match inserted {
                Ok(()) => {}
                Err(InsertError::AlreadyStored) => {
                    tracing::debug!("order ids stored concurrently; deciding again");
                    continue;
                }
                // The store is down for everyone: each alone would meet the same.
                Err(InsertError::Store(err @ StoreError::Unavailable(_))) => {
                    return Committed::Answers(answer_all(&unique, &err));
                }
                // Any other failure, a lock conflict the adapter gave up on included, may come
                // from one request's rows (a hot summary row, a Galera certification conflict):
                // one smaller transaction per request isolates it, so that a request never
                // fails for another's sake. Not a second retry loop: each of those transactions
                // is retried by the adapter alone, and a request alone is never split again.
                Err(InsertError::Store(err)) if live > 1 => {
                    tracing::info!(error = %err, requests = live, "a shared write failed; writing its requests one by one");
                    return Committed::Split;
                }
                Err(InsertError::Store(err)) => {
                    return Committed::Answers(answer_all(&unique, &err));
                }
            }
        }
        return Committed::Answers(answers);
    }
    // Other writers kept storing these ids first: alone, a request races only for its own.
    if live > 1 {
        return Committed::Split;
    }
    let err = StoreError::Contention("concurrent submissions of the same order ids".to_owned());
    Committed::Answers(answer_all(&unique, &err))
}

/// Each request's answer as if the requests came one after another, and the orders to insert.
fn decide<'a>(
    unique: &[Result<Vec<(&'a Order, Fingerprint)>, SubmitError>],
    requests: &[&'a [Order]],
    mut known: HashMap<OrderId, Fingerprint>,
) -> (Vec<Answer>, Vec<&'a Order>) {
    let mut answers = Vec::with_capacity(unique.len());
    let mut new_orders = Vec::new();
    for (request, orders) in unique.iter().zip(requests) {
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                answers.push(Err(err.clone()));
                continue;
            }
        };
        let conflicts: Vec<OrderId> = request
            .iter()
            .filter(|(order, fingerprint)| {
                known
                    .get(order.order_id())
                    .is_some_and(|known| known != fingerprint)
            })
            .map(|(order, _)| order.order_id().clone())
            .collect();
        if !conflicts.is_empty() {
            answers.push(Err(SubmitError::Conflict(conflicts)));
            continue;
        }
        let mut accepted = 0;
        let mut accepted_items = 0;
        for (order, fingerprint) in request {
            if !known.contains_key(order.order_id()) {
                known.insert(order.order_id().clone(), *fingerprint);
                new_orders.push(*order);
                accepted += 1;
                accepted_items += order.items().len();
            }
        }
        answers.push(Ok(SubmitReport {
            accepted,
            accepted_items,
            duplicates: orders.len() - accepted,
        }));
    }
    (answers, new_orders)
}

/// The common case, one request whose orders are all new and none repeated: its own slice,
/// written as it is, without a copy.
fn single_request_all_new<'a>(
    requests: &[&'a [Order]],
    new_orders: &[&Order],
) -> Option<&'a [Order]> {
    match requests {
        [only] if only.len() == new_orders.len() => Some(only),
        _ => None,
    }
}

fn answer_all(
    unique: &[Result<Vec<(&Order, Fingerprint)>, SubmitError>],
    err: &StoreError,
) -> Vec<Answer> {
    unique
        .iter()
        .map(|request| match request {
            Ok(_) => Err(SubmitError::Store(err.clone())),
            Err(own) => Err(own.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use domain::{CustomerId, ItemId, LineItem, Money, OrderTimestamp};
    use tokio::sync::Semaphore;

    use super::*;
    use crate::use_cases::fake_store::FakeStore;

    fn order(id: &str, cents: i64) -> Order {
        Order::new(
            OrderId::parse(id).unwrap(),
            CustomerId::parse("c1").unwrap(),
            OrderTimestamp::from_millis(1_700_000_000_000).unwrap(),
            vec![LineItem::new(
                ItemId::parse("i1").unwrap(),
                Money::from_cents(cents).unwrap(),
            )],
            10,
        )
        .unwrap()
    }

    struct FixedClock;
    impl Clock for FixedClock {
        fn now_millis(&self) -> u64 {
            1
        }
    }

    fn report(accepted: usize, duplicates: usize) -> Answer {
        Ok(SubmitReport {
            accepted,
            accepted_items: accepted,
            duplicates,
        })
    }

    async fn answers(store: &FakeStore, requests: &[&[Order]]) -> Vec<Answer> {
        match commit_group(store, &FixedClock, requests).await {
            Committed::Answers(answers) => answers,
            Committed::Split => panic!("split"),
        }
    }

    #[tokio::test]
    async fn a_group_answers_each_request_as_if_alone_in_arrival_order() {
        let store = FakeStore::default();
        store.stored.lock().unwrap().insert(
            OrderId::parse("old").unwrap(),
            order("old", 100).fingerprint(),
        );
        let first = [order("x", 100), order("y", 200)];
        let same_again = [order("x", 100)];
        let other_content = [order("x", 999), order("z", 300)];
        let old_conflict = [order("old", 5)];
        let repeats = [order("z", 300), order("w", 1), order("w", 1)];
        let got = answers(
            &store,
            &[&first, &same_again, &other_content, &old_conflict, &repeats],
        )
        .await;
        assert_eq!(
            got,
            vec![
                report(2, 0),
                report(0, 1),
                Err(SubmitError::Conflict(vec![OrderId::parse("x").unwrap()])),
                Err(SubmitError::Conflict(vec![OrderId::parse("old").unwrap()])),
                // z was not taken: the request that named it was refused whole.
                report(2, 1),
            ]
        );
        assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
        assert_eq!(
            *store.inserts.lock().unwrap(),
            vec![vec!["x", "y", "z", "w"]],
            "one insert for the whole group"
        );
    }

    /// Another writer stores one of the group's new ids between lookup and insert: the group
    /// looks again and decides again, as if that writer had come first.
    #[tokio::test]
    async fn a_race_lost_at_the_insert_is_decided_again() {
        let store = FakeStore {
            race: Mutex::new(Some(order("x", 555))),
            ..FakeStore::default()
        };
        let (a, b) = ([order("x", 100)], [order("y", 100)]);
        let got = answers(&store, &[&a, &b]).await;
        assert_eq!(
            got,
            vec![
                Err(SubmitError::Conflict(vec![OrderId::parse("x").unwrap()])),
                report(1, 0),
            ]
        );
        assert_eq!(store.lookups.load(Ordering::SeqCst), 2);
        assert_eq!(
            *store.inserts.lock().unwrap(),
            vec![vec!["x", "y"], vec!["y"]]
        );
    }

    /// A writer that panics answers its group with an error, and the requests queued behind it
    /// are still written: the queue never stalls.
    #[tokio::test]
    async fn a_panicking_writer_hands_the_queue_to_a_new_one() {
        let gate = Arc::new(Semaphore::new(0));
        let store = Arc::new(FakeStore {
            gate: Some(gate.clone()),
            panic_on: Some("boom"),
            ..FakeStore::default()
        });
        let settings = WriteGroupSettings {
            concurrency: 1,
            ..WriteGroupSettings::default()
        };
        let groups = Arc::new(WriteGroups::new(
            store.clone(),
            Arc::new(FixedClock),
            settings,
        ));
        let boom = tokio::spawn({
            let groups = groups.clone();
            async move { groups.submit(vec![order("boom", 1)], Box::new(())).await }
        });
        while store.lookups.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let after = tokio::spawn({
            let groups = groups.clone();
            async move { groups.submit(vec![order("after", 1)], Box::new(())).await }
        });
        while groups.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        gate.add_permits(2);
        assert!(matches!(
            boom.await.unwrap(),
            Err(SubmitError::Store(StoreError::Internal(_)))
        ));
        assert_eq!(after.await.unwrap(), report(1, 0));
        while groups.lock().writers != 0 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_failed_shared_write_is_split_so_only_the_guilty_request_fails() {
        let store = Arc::new(FakeStore {
            poison: Some("bad"),
            ..FakeStore::default()
        });
        let groups = WriteGroups::new(
            store.clone(),
            Arc::new(FixedClock),
            WriteGroupSettings::default(),
        );
        let group = [
            vec![order("a", 1)],
            vec![order("bad", 1), order("b", 2)],
            vec![order("c", 3)],
        ];
        let mut replies = Vec::new();
        let mut waiting = Vec::new();
        for orders in group {
            let (reply, answer) = oneshot::channel();
            waiting.push(Waiting {
                orders,
                reply,
                lead: None,
                _hold: Box::new(()),
            });
            replies.push(answer);
        }
        groups.write(waiting).await;
        let mut got = Vec::new();
        for reply in replies {
            got.push(reply.await.unwrap());
        }
        assert_eq!(got[0], report(1, 0));
        assert_eq!(
            got[1],
            Err(SubmitError::Store(StoreError::Internal(
                "poisoned row".into()
            )))
        );
        assert_eq!(got[2], report(1, 0));
        let stored = store.stored.lock().unwrap();
        assert!(stored.contains_key(&OrderId::parse("a").unwrap()));
        assert!(
            !stored.contains_key(&OrderId::parse("b").unwrap()),
            "b went down with bad"
        );
        assert!(stored.contains_key(&OrderId::parse("c").unwrap()));
    }

    /// A group whose insert fails with `failure` for everyone: every request gets it, and the
    /// group was written once, not again request by request.
    async fn assert_answered_once(failure: StoreError) {
        let store = FakeStore {
            failure: Some(failure.clone()),
            ..FakeStore::default()
        };
        let (a, b) = ([order("a", 1)], [order("b", 1)]);
        let got = answers(&store, &[&a, &b]).await;
        assert_eq!(got, vec![Err(SubmitError::Store(failure.clone())); 2]);
        assert_eq!(
            store.inserts.lock().unwrap().len(),
            1,
            "tried once, not per request"
        );
    }

    #[tokio::test]
    async fn a_store_down_fails_the_group_once_without_splitting() {
        assert_answered_once(StoreError::Unavailable("down".into())).await;
    }

    /// A lock conflict the adapter gave up on may be one request's doing: the group is split,
    /// and each request is written once alone (where, here, it meets the conflict again).
    #[tokio::test]
    async fn a_lock_conflict_of_a_shared_write_splits_the_group() {
        let failure = StoreError::Contention("deadlock".into());
        let store = FakeStore {
            failure: Some(failure.clone()),
            ..FakeStore::default()
        };
        let (a, b) = ([order("a", 1)], [order("b", 1)]);
        assert!(matches!(
            commit_group(&store, &FixedClock, &[&a, &b]).await,
            Committed::Split
        ));
        assert_eq!(
            commit_one(&store, &FixedClock, &a).await,
            Err(SubmitError::Store(failure))
        );
        assert_eq!(
            store.inserts.lock().unwrap().len(),
            2,
            "once shared, once alone: the request alone is not split again"
        );
    }

    /// With one writer held at its insert, requests queue; the next group carries them all in
    /// one insert; beyond the queue's bound a request is refused at once.
    #[tokio::test]
    async fn waiting_requests_share_the_next_transaction_and_the_queue_is_bounded() {
        let gate = Arc::new(Semaphore::new(0));
        let store = Arc::new(FakeStore {
            gate: Some(gate.clone()),
            ..FakeStore::default()
        });
        let settings = WriteGroupSettings {
            concurrency: 1,
            max_requests: 64,
            max_orders: 1000,
            max_items: 10_000,
            max_queued: 5,
        };
        let groups = Arc::new(WriteGroups::new(
            store.clone(),
            Arc::new(FixedClock),
            settings,
        ));
        let first = tokio::spawn({
            let groups = groups.clone();
            async move { groups.submit(vec![order("first", 1)], Box::new(())).await }
        });
        // The first request is taken by the writer, which waits at the gate.
        while !groups.lock().waiting.is_empty() || store.lookups.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let mut queued = Vec::new();
        for n in 0..5 {
            let groups = groups.clone();
            queued.push(tokio::spawn(async move {
                groups
                    .submit(vec![order(&format!("q{n}"), 1)], Box::new(()))
                    .await
            }));
        }
        while groups.lock().waiting.len() < 5 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            groups.submit(vec![order("over", 1)], Box::new(())).await,
            Err(SubmitError::Busy)
        );
        gate.add_permits(2);
        assert_eq!(first.await.unwrap(), report(1, 0));
        for request in queued {
            assert_eq!(request.await.unwrap(), report(1, 0));
        }
        assert_eq!(
            *store.inserts.lock().unwrap(),
            vec![vec!["first"], vec!["q0", "q1", "q2", "q3", "q4"]]
        );
        assert_eq!(
            groups.lock().writers,
            0,
            "the writer left once the queue was empty"
        );
    }

    #[test]
    fn a_group_stops_at_the_order_limit_but_a_large_request_goes_alone() {
        let settings = WriteGroupSettings {
            concurrency: 1,
            max_requests: 10,
            max_orders: 3,
            max_items: 10_000,
            max_queued: 10,
        };
        let mut waiting = VecDeque::new();
        let mut replies = Vec::new();
        for size in [5, 2, 1, 1] {
            let (reply, answer) = oneshot::channel();
            replies.push(answer);
            let orders = (0..size).map(|n| order(&format!("o{n}"), 1)).collect();
            waiting.push_back(Waiting {
                orders,
                reply,
                lead: None,
                _hold: Box::new(()),
            });
        }
        let sizes = |group: Vec<Waiting>| group.iter().map(|w| w.orders.len()).collect::<Vec<_>>();
        assert_eq!(sizes(take_group(&mut waiting, settings)), vec![5]);
        assert_eq!(sizes(take_group(&mut waiting, settings)), vec![2, 1]);
        // The caller of the last one left: it is dropped, not written.
        drop(replies.pop());
        assert!(take_group(&mut waiting, settings).is_empty());
        assert!(waiting.is_empty());
    }
}
