//! First pages of customers' items, read for many concurrent requests with one statement.
//!
//! Why: on MySQL every statement costs a pool checkout and check-in (sqlx pings the connection
//! as it goes back), a network round trip, and the server's per-statement work, and under load
//! most requests wait for a free connection anyway. Requests that arrive while every read slot
//! is busy are answered together, by one `UNION ALL` of per-customer `SELECT ... LIMIT`s (each
//! member an index range scan of its own customer, so the cost follows the pages, never the
//! store). A request that finds a slot free is sent at once, alone: coalescing adds no wait.
//!
//! Only first pages are coalesced: they are what almost every request asks for, and one
//! statement shape per batch size keeps the prepared-statement cache small. Pages after a
//! cursor are read directly.
//!
//! The dispatcher and its statements run on the runtime that built the store (the server's
//! main thread), whichever HTTP worker asked: one thread drives every coalesced read's I/O and
//! row decoding. Under the benchmark's load that thread was not the bottleneck (the whole path
//! got 1.6-1.9x faster); it is where to look first if reads ever stop scaling with workers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use application::ports::{PurchasedItem, StoreError};
use domain::CustomerId;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, Value};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::entities::order_items;
use super::item_rows::purchased_item;

/// The most requests one statement answers: bounds the statement's size and the number of
/// statement shapes (one per batch size) each connection prepares.
const MAX_BATCH: usize = 32;

/// Requests waiting for a slot; beyond it, callers wait to hand theirs over.
const QUEUE: usize = 1024;

type Answer = Result<Vec<PurchasedItem>, StoreError>;

struct Request {
    customer: CustomerId,
    limit: usize,
    reply: oneshot::Sender<Answer>,
}

/// A handle on the dispatcher task; the task ends when the last handle is dropped.
#[derive(Clone)]
pub(super) struct FirstPageReads {
    requests: mpsc::Sender<Request>,
}

impl fmt::Debug for FirstPageReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstPageReads").finish_non_exhaustive()
    }
}

impl FirstPageReads {
    /// Starts the dispatcher on the current Tokio runtime, with `slots` statements in flight at
    /// most, each abandoned after `statement_timeout`; `None` outside a runtime (the caller then
    /// reads directly).
    pub(super) fn start(
        db: DatabaseConnection,
        statement_timeout: Duration,
        slots: usize,
    ) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (requests, queue) = mpsc::channel(QUEUE);
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        runtime.spawn(dispatch(db, statement_timeout, queue, slots));
        Some(Self { requests })
    }

    /// Up to `limit` items of `customer` from the first, in purchase order.
    pub(super) async fn read(&self, customer: CustomerId, limit: usize) -> Answer {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            customer,
            limit,
            reply,
        };
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Internal("the first-page read dispatcher has stopped".to_owned())
}

/// Takes a free slot, then every request queued (up to [`MAX_BATCH`]), and answers them with
/// one statement on a task of its own, so that the next batch can start meanwhile.
async fn dispatch(
    db: DatabaseConnection,
    statement_timeout: Duration,
    mut queue: mpsc::Receiver<Request>,
    slots: Arc<Semaphore>,
) {
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let db = db.clone();
        tokio::spawn(async move {
            answer(&db, statement_timeout, batch).await;
            drop(slot);
        });
    }
}

/// One statement for the whole batch; every request gets its own page, or the error of its
/// customer's rows, or the statement's.
async fn answer(db: &DatabaseConnection, statement_timeout: Duration, mut batch: Vec<Request>) {
    // Requests whose caller gave up (its deadline passed while queued) are not read at all:
    // under overload, that work would only delay the requests still waiting.
    batch.retain(|request| !request.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    metrics::histogram!("order_manager_db_item_reads_per_statement").record(batch.len() as f64);
    // Requests for the same customer share one member, which reads the largest page asked for:
    // a smaller page is its beginning. Per customer: (largest limit, requests).
    let mut members: HashMap<String, (usize, usize)> = HashMap::new();
    for request in &batch {
        let member = members
            .entry(request.customer.as_str().to_owned())
            .or_default();
        member.0 = member.0.max(request.limit);
        member.1 += 1;
    }
    let selected: Vec<(&str, usize)> = members
        .iter()
        .map(|(customer, &(limit, _))| (customer.as_str(), limit))
        .collect();
    // The callers' own deadlines (which include the wait in the queue) answer them and count
    // the timeout; this one only frees the slot of a statement that never ends.
    let read = tokio::time::timeout(statement_timeout, select_first_pages(db, &selected))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "customer_items: no answer from the database".to_owned(),
            ))
        });
    drop(selected);
    match read {
        Ok(mut pages) => {
            for request in batch {
                let customer = request.customer.as_str();
                let last = members.get_mut(customer).is_none_or(|member| {
                    member.1 -= 1;
                    member.1 == 0
                });
                let page = if last {
                    pages.remove(customer)
                } else {
                    pages.get(customer).map(|page| match page {
                        Ok(items) => Ok(items[..items.len().min(request.limit)].to_vec()),
                        Err(err) => Err(err.clone()),
                    })
                };
                let page = page.unwrap_or_else(|| Ok(Vec::new())).map(|mut items| {
                    items.truncate(request.limit);
                    items
                });
                // A caller that gave up (timeout, client gone) no longer listens.
                let _ = request.reply.send(page);
            }
        }
        Err(err) => {
            for request in batch {
                let _ = request.reply.send(Err(err.clone()));
            }
        }
    }
}

/// The first `limit` items of each customer, in purchase order, by customer id.
async fn select_first_pages(
    db: &DatabaseConnection,
    members: &[(&str, usize)],
) -> Result<HashMap<String, Answer>, StoreError> {
    const MEMBER: &str = "SELECT customer_id, order_ts, order_id, position, item_id, cost_cents \
         FROM order_items WHERE customer_id = ? \
         ORDER BY order_ts ASC, order_id ASC, position ASC LIMIT ?";
    let sql = match members {
        [_] => MEMBER.to_owned(),
        _ => vec![format!("({MEMBER})"); members.len()].join(" UNION ALL "),
    };
    let values = members.iter().flat_map(|&(customer, limit)| {
        [
            Value::from(customer),
            Value::from(u64::try_from(limit).unwrap_or(u64::MAX)),
        ]
    });
    let statement = Statement::from_sql_and_values(DbBackend::MySql, sql, values);
    let rows = db
        .query_all_raw(statement)
        .await
        .map_err(super::errors::store_error)?;
    let mut rows_by_customer: HashMap<String, Vec<order_items::Model>> = HashMap::new();
    for row in rows {
        let row =
            order_items::Model::from_query_result(&row, "").map_err(super::errors::store_error)?;
        rows_by_customer
            .entry(row.customer_id.clone())
            .or_default()
            .push(row);
    }
    // A row that does not decode fails its own customer's page, not the whole batch. Each
    // member's rows are its customer's first ones; the order across members of a UNION is not
    // guaranteed, so each page is put in purchase order here (the key columns compare bytewise
    // in the database too: binary collation).
    Ok(rows_by_customer
        .into_iter()
        .map(|(customer, rows)| {
            let page = rows
                .into_iter()
                .map(purchased_item)
                .collect::<Result<Vec<_>, _>>()
                .map(|mut items| {
                    items.sort_by(|a, b| a.key.cmp(&b.key));
                    items
                });
            (customer, page)
        })
        .collect())
}
