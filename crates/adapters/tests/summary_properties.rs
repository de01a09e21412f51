//! Property test of the summaries over the real stack below HTTP: the `SubmitOrders` use case on
//! the SQL order store over SQLite (a fresh, migrated file per case), fed generated sequences of
//! batches drawn from a small id space, so that identical re-sends, conflicting re-sends (in the
//! store and inside one batch) and invalid batches all happen. After every batch:
//! - every customer's summary equals the count and sum recomputed from its listed items;
//! - both equal a model kept here from the accepted orders (the first write of an order id wins,
//!   a conflicting or invalid batch stores nothing), and the items are the model's, in purchase
//!   order;
//! - each submission's outcome (accepted, duplicates, conflict, invalid) is the model's.
//!
//! The seed is fixed so that CI runs the same cases every time; `PROPTEST_RNG_SEED=<n>` explores
//! others and `PROPTEST_CASES=<n>` runs more. A failure found here is written to
//! `proptest-regressions/summary_properties.txt` and replayed first on every later run: commit it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod support;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use adapters::sql::SqlOrderStore;
use application::pagination::PageRequest;
use application::ports::{Clock, OrderStore};
use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use application::use_cases::{
    ListCustomerItems, ListItemsError, SubmitError, SubmitLimits, SubmitOrders, SummarizeCustomers,
};
use proptest::prelude::*;
use sea_orm::DatabaseConnection;

const CUSTOMERS: [&str; 3] = ["01", "1", "c-é"];
const ORDER_IDS: [&str; 5] = ["50", "050", "51", "o-1", "o-2"];
const ITEM_IDS: [&str; 2] = ["20201", "x"];
const TIMESTAMPS: [u64; 3] = [1_637_245_070_513, 1_637_245_070_514, 946_684_800_000];
/// Amounts in cents, from free items to the largest one item may cost.
const CENTS: [i64; 7] = [0, 1, 10, 99, 1_850, 100_000, 100_000_000_000];

fn config(cases: u32) -> ProptestConfig {
    testkit::proptest_config::config(
        cases,
        0x0D0E_0A13,
        Some("proptest-regressions/summary_properties.txt"),
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemSpec {
    item: usize,
    cents: usize,
    /// Writes the cost as `2`, `2.00` or `200e-2`: the same amount for the fingerprint.
    notation: u8,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    order: usize,
    customer: usize,
    timestamp: usize,
    items: Vec<ItemSpec>,
    /// One cost written with a fraction of a cent: the whole batch must be refused.
    invalid: bool,
}

/// What an order is, notation aside: what identical re-sends share and conflicts differ in.
type Content = (usize, usize, Vec<(usize, usize)>);

impl OrderSpec {
    fn content(&self) -> Content {
        (
            self.customer,
            self.timestamp,
            self.items.iter().map(|i| (i.item, i.cents)).collect(),
        )
    }

    fn raw(&self) -> RawOrder {
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(position, item)| {
                let cents = CENTS[item.cents];
                let cost = if self.invalid && position == 0 {
                    format!("{}.001", cents / 100)
                } else {
                    match item.notation % 3 {
                        0 => format!("{}.{:02}", cents / 100, cents % 100),
                        1 => format!("{cents}e-2"),
                        _ => domain::Money::from_cents(cents)
                            .unwrap()
                            .to_decimal_string(),
                    }
                };
                RawItem::Object {
                    item_id: RawValue::Text(ITEM_IDS[item.item].into()),
                    cost_eur: RawValue::Number(cost.into()),
                    unknown_fields: Box::default(),
                }
            })
            .collect();
        let millis = TIMESTAMPS[self.timestamp].to_string();
        RawOrder::Object(RawOrderFields {
            customer_id: RawValue::Text(CUSTOMERS[self.customer].into()),
            order_id: RawValue::Text(ORDER_IDS[self.order].into()),
            timestamp: if self.items.len().is_multiple_of(2) {
                RawValue::Text(millis.into())
            } else {
                RawValue::Number(millis.into())
            },
            items: RawItems::List(items),
            unknown_fields: vec![],
        })
    }
}

fn order_spec() -> impl Strategy<Value = OrderSpec> {
    let item =
        (0..ITEM_IDS.len(), 0..CENTS.len(), any::<u8>()).prop_map(|(item, cents, notation)| {
            ItemSpec {
                item,
                cents,
                notation,
            }
        });
    let any_content = (
        0..ORDER_IDS.len(),
        0..CUSTOMERS.len(),
        0..TIMESTAMPS.len(),
        prop::collection::vec(item, 1..3),
    );
    // Most orders carry their id's one canonical content (written in varying notations), so
    // that re-sent ids are mostly duplicates; the others mostly conflict.
    let canonical = (0..ORDER_IDS.len(), prop::collection::vec(any::<u8>(), 1..3)).prop_map(
        |(order, notations)| {
            let items = notations
                .iter()
                .enumerate()
                .map(|(position, notation)| ItemSpec {
                    item: (order + position) % ITEM_IDS.len(),
                    cents: (order + 2 * position) % CENTS.len(),
                    notation: *notation,
                })
                .collect();
            (
                order,
                order % CUSTOMERS.len(),
                order % TIMESTAMPS.len(),
                items,
            )
        },
    );
    (
        prop_oneof![1 => any_content, 8 => canonical],
        prop::bool::weighted(0.05),
    )
        .prop_map(|((order, customer, timestamp, items), invalid)| OrderSpec {
            order,
            customer,
            timestamp,
            items,
            invalid,
        })
}

/// A batch of one to four orders; one in three is a verbatim re-send of an earlier batch's
/// shape, which makes duplicates across batches frequent.
fn batches() -> impl Strategy<Value = Vec<Vec<OrderSpec>>> {
    prop::collection::vec(prop::collection::vec(order_spec(), 1..5), 1..9)
        .prop_flat_map(|batches| {
            let n = batches.len();
            let resends = prop::collection::vec((0..n, 0..n), 0..3);
            (Just(batches), resends)
        })
        .prop_map(|(mut batches, resends)| {
            for (from, to) in resends {
                if from < to {
                    batches[to] = batches[from].clone();
                }
            }
            batches
        })
}

/// The accepted orders, by order id, in the model's own terms.
#[derive(Debug, Default)]
struct Model {
    orders: BTreeMap<usize, Content>,
}

#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Stored { accepted: usize, duplicates: usize },
    Conflict(BTreeSet<String>),
    Invalid,
}

impl Model {
    /// What submitting `batch` must do, and the model after it.
    fn submit(&mut self, batch: &[OrderSpec]) -> Expected {
        if batch.iter().any(|o| o.invalid) {
            return Expected::Invalid;
        }
        let mut first_in_batch: BTreeMap<usize, Content> = BTreeMap::new();
        let mut conflicts = BTreeSet::new();
        for order in batch {
            let content = order.content();
            match first_in_batch.get(&order.order) {
                Some(first) if *first != content => {
                    conflicts.insert(ORDER_IDS[order.order].to_owned());
                }
                Some(_) => {}
                None => {
                    first_in_batch.insert(order.order, content);
                }
            }
        }
        if conflicts.is_empty() {
            for (id, content) in &first_in_batch {
                if self.orders.get(id).is_some_and(|stored| stored != content) {
                    conflicts.insert(ORDER_IDS[*id].to_owned());
                }
            }
        }
        if !conflicts.is_empty() {
            return Expected::Conflict(conflicts);
        }
        let mut accepted = 0;
        for (id, content) in first_in_batch {
            if let Entry::Vacant(slot) = self.orders.entry(id) {
                slot.insert(content);
                accepted += 1;
            }
        }
        Expected::Stored {
            accepted,
            duplicates: batch.len() - accepted,
        }
    }

    /// Each customer's items as (timestamp, order id, item id, cents), in purchase order.
    fn items(&self) -> BTreeMap<&'static str, Vec<(u64, &'static str, &'static str, i64)>> {
        let mut by_customer: BTreeMap<&str, Vec<_>> = BTreeMap::new();
        for (order, (customer, timestamp, items)) in &self.orders {
            for (item, cents) in items {
                by_customer.entry(CUSTOMERS[*customer]).or_default().push((
                    TIMESTAMPS[*timestamp],
                    ORDER_IDS[*order],
                    ITEM_IDS[*item],
                    CENTS[*cents],
                ));
            }
        }
        for items in by_customer.values_mut() {
            // A stable sort keeps the positions inside an order in their listed order.
            items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }
        by_customer
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        1_700_000_000_000
    }
}

fn order_store(db: &DatabaseConnection) -> SqlOrderStore {
    SqlOrderStore::new(db.clone())
}

/// Every page of every customer's items, read with small pages so the cursors are exercised.
async fn check_against_model(store: Arc<dyn OrderStore>, model: &Model, page_limit: u64) {
    let summarize = SummarizeCustomers::new(store.clone());
    let list = ListCustomerItems::new(store);
    let mut summaries = Vec::new();
    let mut cursor = None;
    loop {
        let page = summarize
            .execute(PageRequest {
                limit: Some(page_limit),
                cursor,
            })
            .await
            .unwrap();
        summaries.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let expected = model.items();
    let summarized: Vec<&str> = summaries.iter().map(|s| s.customer_id.as_str()).collect();
    let modelled: Vec<&str> = expected.keys().copied().collect();
    assert_eq!(summarized, modelled, "customers with a summary");

    for summary in &summaries {
        let customer = summary.customer_id.as_str();
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = list
                .execute(
                    customer,
                    PageRequest {
                        limit: Some(page_limit),
                        cursor,
                    },
                )
                .await
                .unwrap();
            items.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let listed_cents: i64 = items.iter().map(|i| i.cost.cents()).sum();
        assert_eq!(
            (summary.purchased_items, summary.total.cents()),
            (items.len() as u64, listed_cents),
            "summary of {customer} vs. the sum of its listed items"
        );
        let listed: Vec<_> = items
            .iter()
            .map(|i| {
                (
                    i.key.timestamp.millis(),
                    i.key.order_id.as_str(),
                    i.item_id.as_str(),
                    i.cost.cents(),
                )
            })
            .collect();
        let modelled = &expected[customer];
        let modelled: Vec<_> = modelled
            .iter()
            .map(|(ts, order, item, cents)| (*ts, *order, *item, *cents))
            .collect();
        assert_eq!(listed, modelled, "items of {customer} vs. the model");
    }
    for customer in CUSTOMERS {
        if !expected.contains_key(customer) {
            assert!(matches!(
                list.execute(customer, PageRequest::default()).await,
                Err(ListItemsError::UnknownCustomer(_))
            ));
        }
    }
}

async fn run_sequence(store: SqlOrderStore, batches: Vec<Vec<OrderSpec>>, page_limit: u64) {
    let store: Arc<dyn OrderStore> = Arc::new(store);
    let submit = SubmitOrders::new(store.clone(), Arc::new(FixedClock), SubmitLimits::default());
    let mut model = Model::default();
    for (n, batch) in batches.iter().enumerate() {
        let expected = model.submit(batch);
        let outcome = submit
            .execute(batch.iter().map(OrderSpec::raw).collect())
            .await;
        let got = match outcome {
            Ok(report) => Expected::Stored {
                accepted: report.accepted,
                duplicates: report.duplicates,
            },
            Err(SubmitError::Conflict(ids)) => {
                Expected::Conflict(ids.into_iter().map(|id| id.into_string()).collect())
            }
            Err(SubmitError::Invalid(_)) => Expected::Invalid,
            Err(other) => panic!("batch {n}: unexpected {other:?}"),
        };
        assert_eq!(got, expected, "batch {n}: {batch:?}");
        check_against_model(store.clone(), &model, page_limit).await;
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn summaries_equal_the_sum_of_items_for_any_sequence_of_batches(
        sequence in batches(),
        page_limit in 1u64..4,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(support::databases::with_sqlite(order_store, |store| {
            run_sequence(store, sequence, page_limit)
        }));
    }
}
