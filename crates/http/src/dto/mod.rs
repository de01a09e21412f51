//! The JSON shapes of the API contract, and their mapping to and from application types.

pub(crate) mod customers;
pub(crate) mod health;
mod integer_range_pattern;
mod integral_digits;
pub(crate) mod orders;
pub(crate) mod raw_orders;
pub(crate) mod raw_orders_schema;
