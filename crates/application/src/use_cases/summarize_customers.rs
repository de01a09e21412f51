use std::sync::Arc;

use thiserror::Error;

use crate::pagination::{
    Page, PageError, PageRequest, decode_summary_cursor, encode_summary_cursor,
};
use crate::ports::{CustomerSummary, OrderStore, StoreError};

/// Why the summaries could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SummarizeError {
    #[error(transparent)]
    InvalidPage(#[from] PageError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Use case: every customer's number of purchased items and total spent, by customer id.
#[derive(Clone)]
pub struct SummarizeCustomers {
    store: Arc<dyn OrderStore>,
}

impl std::fmt::Debug for SummarizeCustomers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummarizeCustomers").finish_non_exhaustive()
    }
}

impl SummarizeCustomers {
    pub fn new(store: Arc<dyn OrderStore>) -> Self {
        Self { store }
    }

    pub async fn execute(
        &self,
        page: PageRequest,
    ) -> Result<Page<CustomerSummary>, SummarizeError> {
        let limit = page.limit()?;
        let after = page
            .cursor
            .as_deref()
            .map(decode_summary_cursor)
            .transpose()?;
        let rows = self.store.customer_summaries(after, limit + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |s| {
            encode_summary_cursor(&s.customer_id)
        }))
    }
}

#[cfg(test)]
mod tests {
    use domain::{CustomerId, Money};
    use mockall::predicate::eq;

    use super::*;
    use crate::ports::MockOrderStore;

    fn summary(id: &str) -> CustomerSummary {
        CustomerSummary {
            customer_id: CustomerId::parse(id).unwrap(),
            purchased_items: 3,
            total: Money::parse_decimal("18.5").unwrap(),
        }
    }

    #[tokio::test]
    async fn resumes_after_the_last_customer_of_the_previous_page() {
        let mut store = MockOrderStore::new();
        store
            .expect_customer_summaries()
            .with(eq(None), eq(2))
            .returning(|_, _| Ok(vec![summary("01"), summary("02")]));
        store
            .expect_customer_summaries()
            .with(eq(Some(CustomerId::parse("01").unwrap())), eq(2))
            .returning(|_, _| Ok(vec![summary("02")]));
        let uc = SummarizeCustomers::new(Arc::new(store));
        let first = uc
            .execute(PageRequest {
                limit: Some(1),
                cursor: None,
            })
            .await
            .unwrap();
        assert_eq!(first.items, vec![summary("01")]);
        let second = uc
            .execute(PageRequest {
                limit: Some(1),
                cursor: first.next_cursor,
            })
            .await
            .unwrap();
        assert_eq!(second.items, vec![summary("02")]);
        assert!(second.next_cursor.is_none());
    }

    #[tokio::test]
    async fn an_empty_store_is_an_empty_list_and_failures_surface() {
        let mut store = MockOrderStore::new();
        store
            .expect_customer_summaries()
            .times(1)
            .returning(|_, _| Ok(vec![]));
        store
            .expect_customer_summaries()
            .returning(|_, _| Err(StoreError::Unavailable("down".into())));
        let uc = SummarizeCustomers::new(Arc::new(store));
        let page = uc.execute(PageRequest::default()).await.unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
        assert!(matches!(
            uc.execute(PageRequest::default()).await,
            Err(SummarizeError::Store(_))
        ));
    }
}
