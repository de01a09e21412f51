//! One module per use case, each with its own error enum.

pub mod auth;
mod check_readiness;
mod export_orders;
#[cfg(test)]
mod fake_store;
mod import_orders;
mod list_customer_items;
mod rate_limit;
mod submit_orders;
mod submit_outcome;
mod summarize_customers;
mod validate_batch;
mod write_groups;

pub use check_readiness::{CheckReadiness, Dependency, Readiness};
pub use export_orders::{ExportError, ExportOrders, ItemsExport, SummariesExport};
pub use import_orders::{
    ChunkReport, Chunker, ImportOrders, ImportProblem, RejectedOrder, SourcedOrder,
};
pub use list_customer_items::{ListCustomerItems, ListItemsError};
pub use rate_limit::{
    LoginWait, RateLimits, Throttle, ThrottleRequests, ThrottleUnavailable, Verdict,
};
pub use submit_orders::{SubmitLimits, SubmitOrders};
pub use submit_outcome::{SubmitError, SubmitReport};
pub use summarize_customers::{SummarizeCustomers, SummarizeError};
pub use validate_batch::{FieldError, FieldErrors, MAX_ECHOED_CHARS, echo};
pub use write_groups::WriteGroupSettings;
