//! A process-wide budget of request-body bytes held at once.
//!
//! Each route bounds its own body, but not how many arrive together: 50 clients sending 4 MiB
//! each would make the process hold 200 MiB of raw JSON, and more once parsed, enough to get a
//! replica OOM-killed under a 256-512 MiB limit. A request reserves its declared size (or its
//! route's limit, when the size is not declared) before its body is read, and keeps the
//! reservation until its handler returns, parsed form included. Beyond the budget it is answered
//! 503 with `Retry-After` at once: a client retries a moment later, and what is in flight
//! finishes.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Problem;

/// The bytes of request bodies the process may hold at once, shared by every worker.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

/// Bytes reserved in a [`BodyBudget`], given back when dropped.
#[derive(Debug)]
pub(crate) struct BodyReservation {
    _permit: OwnedSemaphorePermit,
}

impl BodyBudget {
    /// A budget of `total_bytes` (capped to what a semaphore can count).
    pub fn new(total_bytes: usize) -> Self {
        let total = total_bytes.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Reserves `bytes` at once, or answers 503 if the budget has not that much left now.
    pub(crate) fn reserve(&self, bytes: usize) -> Result<BodyReservation, Problem> {
        let unavailable = || {
            metrics::counter!("order_manager_body_budget_rejections_total").increment(1);
            Problem::unavailable(format!(
                "the server holds {} bytes of request bodies at most, and they are in use; retry shortly",
                self.total
            ))
        };
        let bytes = u32::try_from(bytes).map_err(|_| unavailable())?;
        self.bytes
            .clone()
            .try_acquire_many_owned(bytes)
            .map(|permit| BodyReservation { _permit: permit })
            .map_err(|_| unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_beyond_the_budget_are_refused_until_one_is_given_back() {
        let budget = BodyBudget::new(10);
        let first = budget.reserve(6).unwrap();
        let second = budget.reserve(4).unwrap();
        let refused = budget.reserve(1).unwrap_err();
        use actix_web::ResponseError;
        assert_eq!(
            refused.status_code(),
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        );
        drop(first);
        let _third = budget.reserve(6).unwrap();
        drop(second);
        assert!(budget.reserve(5).is_err(), "only 4 bytes are free");
        assert!(budget.reserve(4).is_ok());
    }

    #[test]
    fn a_request_larger_than_the_whole_budget_is_refused() {
        let budget = BodyBudget::new(10);
        assert!(budget.reserve(11).is_err());
        assert!(budget.reserve(10).is_ok());
    }
}
