//! The order manager's domain: value objects that cannot hold an invalid value, and the order
//! entity built from them. Nothing here does I/O or knows about HTTP, JSON or SQL.

mod auth;
mod ids;
mod money;
mod order;
mod timestamp;

pub use auth::{Password, PasswordError, Scope, ScopeError, Scopes, Username, UsernameError};
pub use ids::{CustomerId, IdError, ItemId, MAX_ID_CHARS, OrderId, id_pattern};
pub use money::{MAX_DECIMAL_PLACES, MAX_ITEM_CENTS, Money, MoneyError};
pub use order::{Fingerprint, LineItem, Order, OrderError};
pub use timestamp::{MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, OrderTimestamp, TimestampError};
