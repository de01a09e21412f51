//! Keyset pagination: a page size within bounds and an opaque cursor that resumes after the last
//! row of the previous page, so that no page costs more than its own rows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{CustomerId, OrderId, OrderTimestamp};
use thiserror::Error;

use crate::ports::ItemKey;

pub const DEFAULT_PAGE_LIMIT: usize = 1000;
pub const MAX_PAGE_LIMIT: usize = 10_000;

/// Why a page request is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PageError {
    #[error("limit must be between 1 and {MAX_PAGE_LIMIT}, got {0}")]
    LimitOutOfRange(u64),
    #[error("cursor is not one this endpoint issued")]
    InvalidCursor,
}

/// What the client asked for: an optional page size and an optional cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub(crate) fn limit(&self) -> Result<usize, PageError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE_LIMIT),
            Some(n) if (1..=MAX_PAGE_LIMIT as u64).contains(&n) => Ok(n as usize),
            Some(n) => Err(PageError::LimitOutOfRange(n)),
        }
    }
}

/// One page of results, and the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts a result fetched with `limit + 1` rows into a page; the extra row only tells that
    /// another page exists.
    pub(crate) fn from_overfetch(
        mut rows: Vec<T>,
        limit: usize,
        cursor_of: impl Fn(&T) -> String,
    ) -> Self {
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

const ITEMS_TAG: &str = "i1";
const SUMMARIES_TAG: &str = "s1";

fn encode(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

fn decode(cursor: &str) -> Result<String, PageError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| PageError::InvalidCursor)?;
    String::from_utf8(bytes).map_err(|_| PageError::InvalidCursor)
}

pub(crate) fn encode_item_cursor(key: &ItemKey) -> String {
    encode(&[
        ITEMS_TAG,
        &key.timestamp.millis().to_string(),
        &key.position.to_string(),
        key.order_id.as_str(),
    ])
}

pub(crate) fn decode_item_cursor(cursor: &str) -> Result<ItemKey, PageError> {
    let text = decode(cursor)?;
    // The order id goes last: ids cannot hold a newline (a control character), so splitting
    // into four parts is unambiguous.
    let mut parts = text.splitn(4, '\n');
    let (Some(ITEMS_TAG), Some(ts), Some(position), Some(order_id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PageError::InvalidCursor);
    };
    Ok(ItemKey {
        timestamp: OrderTimestamp::parse_digits(ts).map_err(|_| PageError::InvalidCursor)?,
        position: position.parse().map_err(|_| PageError::InvalidCursor)?,
        order_id: OrderId::parse(order_id).map_err(|_| PageError::InvalidCursor)?,
    })
}

pub(crate) fn encode_summary_cursor(customer: &CustomerId) -> String {
    encode(&[SUMMARIES_TAG, customer.as_str()])
}

pub(crate) fn decode_summary_cursor(cursor: &str) -> Result<CustomerId, PageError> {
    let text = decode(cursor)?;
    match text.split_once('\n') {
        Some((SUMMARIES_TAG, id)) => CustomerId::parse(id).map_err(|_| PageError::InvalidCursor),
        _ => Err(PageError::InvalidCursor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_foreign_ones() {
        let key = ItemKey {
            timestamp: OrderTimestamp::parse_digits("1637245070513").unwrap(),
            order_id: OrderId::parse("a:b/c").unwrap(),
            position: 7,
        };
        let cursor = encode_item_cursor(&key);
        assert_eq!(decode_item_cursor(&cursor), Ok(key));
        assert_eq!(
            decode_summary_cursor(&cursor),
            Err(PageError::InvalidCursor)
        );

        let customer = CustomerId::parse("01").unwrap();
        let cursor = encode_summary_cursor(&customer);
        assert_eq!(decode_summary_cursor(&cursor), Ok(customer));
        assert_eq!(decode_item_cursor(&cursor), Err(PageError::InvalidCursor));

        for junk in ["", "!!!", "aGVsbG8", "%00"] {
            assert_eq!(decode_item_cursor(junk), Err(PageError::InvalidCursor));
            assert_eq!(decode_summary_cursor(junk), Err(PageError::InvalidCursor));
        }
    }

    #[test]
    fn limit_defaults_and_bounds() {
        let req = |limit| PageRequest {
            limit,
            cursor: None,
        };
        assert_eq!(req(None).limit(), Ok(DEFAULT_PAGE_LIMIT));
        assert_eq!(req(Some(1)).limit(), Ok(1));
        assert_eq!(req(Some(10_000)).limit(), Ok(10_000));
        assert_eq!(req(Some(0)).limit(), Err(PageError::LimitOutOfRange(0)));
        assert_eq!(
            req(Some(10_001)).limit(),
            Err(PageError::LimitOutOfRange(10_001))
        );
    }
}
