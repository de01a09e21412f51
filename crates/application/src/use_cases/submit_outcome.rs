//! What a submission answers, whether written alone or in a write group: its report, or why
//! nothing of it was stored. Shared by the use case and the write groups, so that neither has
//! to import the other.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use domain::{Fingerprint, Order, OrderId};
use thiserror::Error;

use super::validate_batch::FieldErrors;
use crate::ports::StoreError;

/// What a successful submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitReport {
    /// Orders stored by this call.
    pub accepted: usize,
    /// Items of the orders stored by this call.
    pub accepted_items: usize,
    /// Entries that stored nothing because the same order was already stored (or repeated
    /// inside the batch): safe client retries.
    pub duplicates: usize,
}

/// Why a batch was not stored. Nothing of it was written, except after a `Store` error, whose
/// outcome may be unknown (a deadline passed while its write went on): the client sends the
/// same batch again and learns it from `duplicates`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubmitError {
    #[error("a batch must contain at least one order")]
    EmptyBatch,
    #[error("{count} orders exceed the limit of {max} per request")]
    TooManyOrders { count: usize, max: usize },
    #[error("order {index} has {count} items, over the limit of {max} per order")]
    TooManyItems {
        index: usize,
        count: usize,
        max: usize,
    },
    #[error("{} problem(s) in the batch", .0.total)]
    Invalid(FieldErrors),
    /// These order ids are already used by orders with other content (in the store or earlier
    /// in the same batch).
    #[error("order ids already used with different content: {0:?}")]
    Conflict(Vec<OrderId>),
    /// Too many submissions are waiting to be written; nothing was stored, retry shortly.
    #[error("too many submissions are waiting to be written")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keeps the first of identical repeats inside one batch; a repeated id with other content is
/// a conflict.
pub(super) fn collapse_repeats(
    orders: &[Order],
) -> Result<Vec<(&Order, Fingerprint)>, SubmitError> {
    let mut seen: HashMap<&OrderId, Fingerprint> = HashMap::with_capacity(orders.len());
    let mut unique = Vec::with_capacity(orders.len());
    let mut conflicts = Vec::new();
    for order in orders {
        let fingerprint = order.fingerprint();
        match seen.entry(order.order_id()) {
            Entry::Vacant(slot) => {
                slot.insert(fingerprint);
                unique.push((order, fingerprint));
            }
            Entry::Occupied(first) if *first.get() == fingerprint => {}
            Entry::Occupied(first) => {
                if !conflicts.contains(*first.key()) {
                    conflicts.push((*first.key()).clone());
                }
            }
        }
    }
    if conflicts.is_empty() {
        Ok(unique)
    } else {
        Err(SubmitError::Conflict(conflicts))
    }
}
