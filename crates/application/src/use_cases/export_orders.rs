//! Bulk export: every stored item (of every customer, or of one) and every customer summary,
//! read in keyset pages so that memory stays flat whatever the size of the store.

use std::collections::VecDeque;
use std::sync::Arc;

use domain::CustomerId;
use thiserror::Error;

use crate::ports::{CustomerSummary, ItemKey, OrderStore, PurchasedItem, StoreError};

/// Why an export could not start or go on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExportError {
    #[error("no order of customer `{0}` is stored")]
    UnknownCustomer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Use case: read the whole store page by page.
#[derive(Clone)]
pub struct ExportOrders {
    store: Arc<dyn OrderStore>,
    page_size: usize,
}

impl std::fmt::Debug for ExportOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportOrders")
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl ExportOrders {
    /// `page_size` rows are read per statement (and held in memory at once).
    pub fn new(store: Arc<dyn OrderStore>, page_size: usize) -> Self {
        Self {
            store,
            page_size: page_size.max(1),
        }
    }

    /// Every customer summary, by customer id.
    pub fn summaries(&self) -> SummariesExport {
        SummariesExport {
            export: self.clone(),
            after: None,
            done: false,
        }
    }

    /// Every item of every customer (by customer id, then in purchase order), or of the one
    /// customer given.
    pub async fn items(&self, customer: Option<CustomerId>) -> Result<ItemsExport, ExportError> {
        let mut customers = VecDeque::new();
        let only_one = customer.is_some();
        if let Some(customer) = customer {
            if !self.store.customer_exists(&customer).await? {
                return Err(ExportError::UnknownCustomer(customer.into_string()));
            }
            customers.push_back(customer);
        }
        Ok(ItemsExport {
            export: self.clone(),
            customers,
            customers_after: None,
            customers_done: only_one,
            item_after: None,
        })
    }
}

/// The summaries, a page at a time.
#[derive(Debug)]
pub struct SummariesExport {
    export: ExportOrders,
    after: Option<CustomerId>,
    done: bool,
}

impl SummariesExport {
    /// The next page; `None` once every summary was returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<CustomerSummary>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .export
            .store
            .customer_summaries(self.after.take(), self.export.page_size)
            .await?;
        self.done = page.len() < self.export.page_size;
        self.after = page.last().map(|summary| summary.customer_id.clone());
        Ok((!page.is_empty()).then_some(page))
    }
}

/// The items, a page at a time.
#[derive(Debug)]
pub struct ItemsExport {
    export: ExportOrders,
    /// Customers whose items are still to read, the first one being read.
    customers: VecDeque<CustomerId>,
    customers_after: Option<CustomerId>,
    customers_done: bool,
    item_after: Option<ItemKey>,
}

impl ItemsExport {
    /// The next page of items; `None` once every item was returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<PurchasedItem>>, StoreError> {
        loop {
            if self.customers.is_empty() {
                if self.customers_done {
                    return Ok(None);
                }
                let page = self
                    .export
                    .store
                    .customer_summaries(self.customers_after.take(), self.export.page_size)
                    .await?;
                self.customers_done = page.len() < self.export.page_size;
                self.customers_after = page.last().map(|summary| summary.customer_id.clone());
                self.customers
                    .extend(page.into_iter().map(|summary| summary.customer_id));
                continue;
            }
            let Some(customer) = self.customers.front() else {
                continue;
            };
            let page = self
                .export
                .store
                .customer_items(customer, self.item_after.take(), self.export.page_size)
                .await?;
            if page.len() < self.export.page_size {
                self.customers.pop_front();
            } else {
                self.item_after = page.last().map(|item| item.key.clone());
            }
            if !page.is_empty() {
                return Ok(Some(page));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::{ItemId, Money, OrderId, OrderTimestamp};
    use mockall::predicate::{always, eq};

    use super::*;
    use crate::ports::MockOrderStore;

    fn summary(id: &str) -> CustomerSummary {
        CustomerSummary {
            customer_id: CustomerId::parse(id).unwrap(),
            purchased_items: 1,
            total: Money::from_cents(100).unwrap(),
        }
    }

    fn item(customer: &str, order: &str) -> PurchasedItem {
        PurchasedItem {
            key: ItemKey {
                timestamp: OrderTimestamp::from_millis(1_637_245_070_513).unwrap(),
                order_id: OrderId::parse(order).unwrap(),
                position: 0,
            },
            customer_id: CustomerId::parse(customer).unwrap(),
            item_id: ItemId::parse("i").unwrap(),
            cost: Money::from_cents(100).unwrap(),
        }
    }

    #[tokio::test]
    async fn items_of_every_customer_come_page_by_page() {
        let mut store = MockOrderStore::new();
        store
            .expect_customer_summaries()
            .with(eq(None), eq(2))
            .returning(|_, _| Ok(vec![summary("a"), summary("b")]));
        store
            .expect_customer_summaries()
            .with(eq(Some(CustomerId::parse("b").unwrap())), eq(2))
            .returning(|_, _| Ok(vec![summary("c")]));
        store
            .expect_customer_items()
            .with(eq(CustomerId::parse("a").unwrap()), eq(None), eq(2))
            .returning(|_, _, _| Ok(vec![item("a", "1"), item("a", "2")]));
        store
            .expect_customer_items()
            .with(eq(CustomerId::parse("a").unwrap()), always(), eq(2))
            .returning(|_, after, _| {
                assert!(after.is_some());
                Ok(vec![item("a", "3")])
            });
        store
            .expect_customer_items()
            .with(eq(CustomerId::parse("b").unwrap()), eq(None), eq(2))
            .returning(|_, _, _| Ok(vec![]));
        store
            .expect_customer_items()
            .with(eq(CustomerId::parse("c").unwrap()), eq(None), eq(2))
            .returning(|_, _, _| Ok(vec![item("c", "9")]));
        let export = ExportOrders::new(Arc::new(store), 2);
        let mut items = export.items(None).await.unwrap();
        let mut orders = Vec::new();
        while let Some(page) = items.next_page().await.unwrap() {
            orders.push(
                page.iter()
                    .map(|i| i.key.order_id.as_str().to_owned())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(orders, [vec!["1", "2"], vec!["3"], vec!["9"]]);
    }

    #[tokio::test]
    async fn an_unknown_customer_is_an_error_and_summaries_end_on_a_short_page() {
        let mut store = MockOrderStore::new();
        store.expect_customer_exists().returning(|_| Ok(false));
        store
            .expect_customer_summaries()
            .times(1)
            .returning(|_, _| Ok(vec![summary("a")]));
        let export = ExportOrders::new(Arc::new(store), 2);
        let error = export
            .items(Some(CustomerId::parse("zz").unwrap()))
            .await
            .unwrap_err();
        assert_eq!(error, ExportError::UnknownCustomer("zz".into()));
        let mut summaries = export.summaries();
        assert_eq!(
            summaries.next_page().await.unwrap().map(|p| p.len()),
            Some(1)
        );
        assert_eq!(summaries.next_page().await.unwrap(), None);
    }
}
