//! The same contract, run against SQLite (a temporary file) and MariaDB/MySQL (a database with a
//! random name on the server whose URL `cargo xtask ci` passes in `ORDER_MANAGER_TEST_MYSQL_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod support;

use adapters::sql::SqlOrderStore;
use application::ports::{InsertError, ItemKey, OrderStore};
use domain::{CustomerId, ItemId, LineItem, Money, Order, OrderId, OrderTimestamp};
use sea_orm::DatabaseConnection;

fn order_store(db: &DatabaseConnection) -> SqlOrderStore {
    SqlOrderStore::new(db.clone())
}

contract!(
    crate::order_store;
    an_empty_store_has_no_summaries_and_no_customers,
    inserted_orders_are_listed_in_purchase_order_with_exact_costs,
    summaries_follow_every_insert_and_sort_by_customer_id,
    ids_are_compared_exactly,
    a_batch_with_a_stored_id_stores_nothing,
    fingerprints_are_returned_for_stored_ids_only,
    item_pages_resume_after_the_cursor_key,
    summary_pages_resume_after_the_cursor_customer,
    large_batches_are_stored_whole,
    concurrent_first_pages_are_each_customers_own,
);

fn order(order_id: &str, customer: &str, ts: u64, items: &[(&str, &str)]) -> Order {
    Order::new(
        OrderId::parse(order_id).unwrap(),
        CustomerId::parse(customer).unwrap(),
        OrderTimestamp::from_millis(ts).unwrap(),
        items
            .iter()
            .map(|(id, cost)| LineItem::new(ItemId::parse(*id).unwrap(), cost.parse().unwrap()))
            .collect(),
        1000,
    )
    .unwrap()
}

fn customer(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

const T0: u64 = 1_637_245_070_513;

mod cases {
    use super::*;

    pub async fn an_empty_store_has_no_summaries_and_no_customers(store: SqlOrderStore) {
        assert!(store.customer_summaries(None, 10).await.unwrap().is_empty());
        assert!(!store.customer_exists(&customer("01")).await.unwrap());
        assert!(
            store
                .customer_items(&customer("01"), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        store.ping().await.unwrap();
    }

    pub async fn inserted_orders_are_listed_in_purchase_order_with_exact_costs(
        store: SqlOrderStore,
    ) {
        let later = order("b-later", "01", T0 + 1, &[("x", "1")]);
        let first = order(
            "z-first",
            "01",
            T0,
            &[("20201", "2"), ("20202", "0.1"), ("20201", "2")],
        );
        let same_time = order("c-same-time", "01", T0, &[("y", "18.5")]);
        store
            .insert_new(&[later, first, same_time], 1)
            .await
            .unwrap();
        let items = store
            .customer_items(&customer("01"), None, 100)
            .await
            .unwrap();
        let listed: Vec<(&str, &str, u32, String)> = items
            .iter()
            .map(|i| {
                (
                    i.key.order_id.as_str(),
                    i.item_id.as_str(),
                    i.key.position,
                    i.cost.to_string(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                ("c-same-time", "y", 0, "18.5".to_string()),
                ("z-first", "20201", 0, "2".to_string()),
                ("z-first", "20202", 1, "0.1".to_string()),
                ("z-first", "20201", 2, "2".to_string()),
                ("b-later", "x", 0, "1".to_string()),
            ]
        );
        assert!(items.iter().all(|i| i.customer_id == customer("01")));
    }

    pub async fn summaries_follow_every_insert_and_sort_by_customer_id(store: SqlOrderStore) {
        let dimes: Vec<(&str, &str)> = (0..10).map(|_| ("dime", "0.1")).collect();
        store
            .insert_new(&[order("1", "02", T0, &dimes)], 1)
            .await
            .unwrap();
        store
            .insert_new(
                &[
                    order("2", "01", T0, &[("a", "2"), ("b", "16.5")]),
                    order("3", "02", T0, &[("c", "0.01")]),
                ],
                2,
            )
            .await
            .unwrap();
        let summaries = store.customer_summaries(None, 10).await.unwrap();
        let shown: Vec<(&str, u64, String)> = summaries
            .iter()
            .map(|s| {
                (
                    s.customer_id.as_str(),
                    s.purchased_items,
                    s.total.to_string(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("01", 2, "18.5".to_string()),
                ("02", 11, "1.01".to_string())
            ]
        );
        assert!(store.customer_exists(&customer("02")).await.unwrap());
    }

    pub async fn ids_are_compared_exactly(store: SqlOrderStore) {
        store
            .insert_new(
                &[
                    order("a", "01", T0, &[("x", "1")]),
                    order("A", "1", T0, &[("x", "2")]),
                    order("a ", "01 ", T0, &[("x", "3")]),
                    order("ä", "Ä", T0, &[("x", "4")]),
                ],
                1,
            )
            .await
            .unwrap();
        let summaries = store.customer_summaries(None, 10).await.unwrap();
        let ids: Vec<&str> = summaries.iter().map(|s| s.customer_id.as_str()).collect();
        assert_eq!(ids, vec!["01", "01 ", "1", "Ä"]);
        let items = store
            .customer_items(&customer("01"), None, 10)
            .await
            .unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].cost.to_string(), "1");
    }

    pub async fn a_batch_with_a_stored_id_stores_nothing(store: SqlOrderStore) {
        store
            .insert_new(&[order("50", "01", T0, &[("x", "1")])], 1)
            .await
            .unwrap();
        let outcome = store
            .insert_new(
                &[
                    order("51", "02", T0, &[("y", "5")]),
                    order("50", "01", T0, &[("x", "1")]),
                ],
                2,
            )
            .await;
        assert_eq!(outcome, Err(InsertError::AlreadyStored));
        assert!(!store.customer_exists(&customer("02")).await.unwrap());
        let summaries = store.customer_summaries(None, 10).await.unwrap();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].purchased_items, 1);
    }

    pub async fn fingerprints_are_returned_for_stored_ids_only(store: SqlOrderStore) {
        let stored = order("50", "01", T0, &[("x", "1")]);
        store
            .insert_new(std::slice::from_ref(&stored), 1)
            .await
            .unwrap();
        let ids = [OrderId::parse("50").unwrap(), OrderId::parse("51").unwrap()];
        let found = store.stored_fingerprints(&ids).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[&ids[0]], stored.fingerprint());
    }

    pub async fn item_pages_resume_after_the_cursor_key(store: SqlOrderStore) {
        store
            .insert_new(
                &[
                    order("a", "01", T0, &[("1", "1"), ("2", "1")]),
                    order("b", "01", T0, &[("3", "1")]),
                    order("a2", "01", T0 + 5, &[("4", "1")]),
                    order("other", "02", T0, &[("9", "1")]),
                ],
                1,
            )
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut after: Option<ItemKey> = None;
        loop {
            let page = store
                .customer_items(&customer("01"), after.clone(), 1)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            seen.extend(page.into_iter().map(|i| i.item_id.into_string()));
        }
        assert_eq!(seen, vec!["1", "2", "3", "4"]);
    }

    pub async fn summary_pages_resume_after_the_cursor_customer(store: SqlOrderStore) {
        let orders: Vec<Order> = ["c", "a", "b", "d"]
            .iter()
            .map(|c| order(&format!("o-{c}"), c, T0, &[("x", "1")]))
            .collect();
        store.insert_new(&orders, 1).await.unwrap();
        let page = store
            .customer_summaries(Some(customer("b")), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = page.iter().map(|s| s.customer_id.as_str()).collect();
        assert_eq!(ids, vec!["c", "d"]);
        assert_eq!(store.customer_summaries(None, 2).await.unwrap().len(), 2);
    }

    pub async fn large_batches_are_stored_whole(store: SqlOrderStore) {
        let items: Vec<(&str, &str)> = (0..1000).map(|_| ("i", "0.01")).collect();
        let orders: Vec<Order> = (0..3)
            .map(|n| order(&format!("big-{n}"), "01", T0 + n, &items))
            .collect();
        store.insert_new(&orders, 1).await.unwrap();
        let summaries = store.customer_summaries(None, 10).await.unwrap();
        assert_eq!(summaries[0].purchased_items, 3000);
        assert_eq!(summaries[0].total, Money::parse_decimal("30").unwrap());
        assert_eq!(
            store
                .customer_items(&customer("01"), None, 5000)
                .await
                .unwrap()
                .len(),
            3000
        );
    }

    /// Many reads at once (on MySQL they are answered together, several per statement): each
    /// gets exactly its own customer's first page, at its own limit, in purchase order.
    pub async fn concurrent_first_pages_are_each_customers_own(store: SqlOrderStore) {
        // Customers differing only in case, orders sharing a timestamp, ids out of order.
        let customers = ["a", "A", "b", "c-1", "c-10", "d"];
        let mut orders = Vec::new();
        for (n, id) in customers.iter().enumerate() {
            for k in 0..=n as u64 {
                let items = [("i", "1.25"), ("j", "0"), ("k", "3")];
                let order_id = format!("{id}-{}", 9 - k);
                orders.push(order(
                    &order_id,
                    id,
                    T0 + k / 2,
                    &items[..1 + (k as usize % 3)],
                ));
            }
        }
        store.insert_new(&orders, 1).await.unwrap();
        let expected = |id: &str, limit: usize| {
            let mut items: Vec<(u64, String, u32, String)> = orders
                .iter()
                .filter(|o| o.customer_id().as_str() == id)
                .flat_map(|o| {
                    o.items().iter().enumerate().map(|(position, item)| {
                        (
                            o.timestamp().millis(),
                            o.order_id().as_str().to_owned(),
                            position as u32,
                            item.item_id().as_str().to_owned(),
                        )
                    })
                })
                .collect();
            items.sort();
            items.truncate(limit);
            items
        };
        let asked: Vec<(&str, usize)> = (0..96)
            .map(|n| {
                let id = ["a", "A", "b", "c-1", "c-10", "d", "unknown"][n % 7];
                (id, [1, 2, 100][n % 3])
            })
            .collect();
        let reads = asked.iter().map(|&(id, limit)| {
            let store = store.clone();
            async move { store.customer_items(&customer(id), None, limit).await }
        });
        let answers = futures_util::future::join_all(reads).await;
        for (&(id, limit), answer) in asked.iter().zip(answers) {
            let got: Vec<(u64, String, u32, String)> = answer
                .unwrap()
                .into_iter()
                .inspect(|item| assert_eq!(item.customer_id.as_str(), id))
                .map(|item| {
                    (
                        item.key.timestamp.millis(),
                        item.key.order_id.as_str().to_owned(),
                        item.key.position,
                        item.item_id.as_str().to_owned(),
                    )
                })
                .collect();
            assert_eq!(got, expected(id, limit), "customer {id}, limit {limit}");
        }
    }
}
