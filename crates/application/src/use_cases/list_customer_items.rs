use std::sync::Arc;

use domain::{CustomerId, IdError};
use thiserror::Error;

use crate::pagination::{Page, PageError, PageRequest, decode_item_cursor, encode_item_cursor};
use crate::ports::{OrderStore, PurchasedItem, StoreError};

/// Why a customer's items could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListItemsError {
    #[error("invalid customer id: {0}")]
    InvalidCustomerId(IdError),
    #[error(transparent)]
    InvalidPage(#[from] PageError),
    #[error("no orders are stored for customer `{0}`")]
    UnknownCustomer(CustomerId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Use case: every item one customer bought, in purchase order, a page at a time.
#[derive(Clone)]
pub struct ListCustomerItems {
    store: Arc<dyn OrderStore>,
}

impl std::fmt::Debug for ListCustomerItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListCustomerItems").finish_non_exhaustive()
    }
}

impl ListCustomerItems {
    pub fn new(store: Arc<dyn OrderStore>) -> Self {
        Self { store }
    }

    pub async fn execute(
        &self,
        customer_id: &str,
        page: PageRequest,
    ) -> Result<Page<PurchasedItem>, ListItemsError> {
        let customer = CustomerId::parse(customer_id).map_err(ListItemsError::InvalidCustomerId)?;
        let limit = page.limit()?;
        let after = page.cursor.as_deref().map(decode_item_cursor).transpose()?;
        let rows = self
            .store
            .customer_items(&customer, after.clone(), limit + 1)
            .await?;
        // Only an empty first page needs the extra look-up: a customer with items is known.
        if rows.is_empty() && after.is_none() && !self.store.customer_exists(&customer).await? {
            return Err(ListItemsError::UnknownCustomer(customer));
        }
        Ok(Page::from_overfetch(rows, limit, |item| {
            encode_item_cursor(&item.key)
        }))
    }
}

#[cfg(test)]
mod tests {
    use domain::{ItemId, Money, OrderId, OrderTimestamp};
    use mockall::predicate::{always, eq};

    use super::*;
    use crate::ports::{ItemKey, MockOrderStore};

    fn item(position: u32) -> PurchasedItem {
        PurchasedItem {
            key: ItemKey {
                timestamp: OrderTimestamp::parse_digits("1637245070513").unwrap(),
                order_id: OrderId::parse("50").unwrap(),
                position,
            },
            customer_id: CustomerId::parse("01").unwrap(),
            item_id: ItemId::parse("20201").unwrap(),
            cost: Money::parse_decimal("2").unwrap(),
        }
    }

    #[tokio::test]
    async fn pages_through_items_with_a_cursor() {
        let mut store = MockOrderStore::new();
        store
            .expect_customer_items()
            .with(always(), eq(None), eq(3))
            .returning(|_, _, _| Ok(vec![item(0), item(1), item(2)]));
        store
            .expect_customer_items()
            .withf(|_, after, limit| after.as_ref().map(|k| k.position) == Some(1) && *limit == 3)
            .returning(|_, _, _| Ok(vec![item(2)]));
        store.expect_customer_exists().never();
        let uc = ListCustomerItems::new(Arc::new(store));

        let first = uc
            .execute(
                "01",
                PageRequest {
                    limit: Some(2),
                    cursor: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(first.items, vec![item(0), item(1)]);
        let second = uc
            .execute(
                "01",
                PageRequest {
                    limit: Some(2),
                    cursor: first.next_cursor,
                },
            )
            .await
            .unwrap();
        assert_eq!(second.items, vec![item(2)]);
        assert_eq!(second.next_cursor, None);
    }

    #[tokio::test]
    async fn unknown_customers_and_bad_input_are_told_apart() {
        let mut store = MockOrderStore::new();
        store
            .expect_customer_items()
            .returning(|_, _, _| Ok(vec![]));
        store.expect_customer_exists().returning(|_| Ok(false));
        let uc = ListCustomerItems::new(Arc::new(store));
        assert!(matches!(
            uc.execute("nobody", PageRequest::default()).await,
            Err(ListItemsError::UnknownCustomer(_))
        ));
        assert!(matches!(
            uc.execute("", PageRequest::default()).await,
            Err(ListItemsError::InvalidCustomerId(IdError::Empty))
        ));
        assert!(matches!(
            uc.execute(
                "01",
                PageRequest {
                    limit: None,
                    cursor: Some("garbage".into())
                }
            )
            .await,
            Err(ListItemsError::InvalidPage(PageError::InvalidCursor))
        ));
    }
}
