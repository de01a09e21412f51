//! HTTP delivery with actix-web: the JSON contract of the API, mapped onto the application's use
//! cases. Knows no adapter: the server hands in ready-made use cases.

mod auth;
mod body_budget;
mod client_ip;
mod dto;
/// The `POST /orders` body path as one call, for the fuzzer and its corpus replay.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod json_body;
mod lifecycle;
mod observability;
mod openapi;
mod pagination;
mod problem;
mod rate_limit;
mod routes;
mod username_pseudonyms;

use actix_web::web;
use application::use_cases::auth::{Authenticate, Login, Logout};
use application::use_cases::{CheckReadiness, ListCustomerItems, SubmitOrders, SummarizeCustomers};

pub use body_budget::BodyBudget;
pub use client_ip::{ClientIp, TrustedProxies};
pub use lifecycle::Lifecycle;
pub use observability::{REQUEST_ID_HEADER, RequestId, observe};
pub use openapi::{document as openapi_document, document_json as openapi_json};
pub use problem::Problem;
pub use rate_limit::{RateLimitApi, rate_limit};
pub use username_pseudonyms::UsernamePseudonyms;

/// One order in the `POST /orders` wire format, parsed exactly as strictly as a request body
/// (one JSON document, no duplicate keys, numbers kept as written): for deliveries of the same
/// format other than HTTP, such as the bulk import. The error is the message the API would give.
pub fn order_from_json(json: &[u8]) -> Result<application::raw_input::RawOrder, String> {
    dto::raw_orders::order_from_slice(json).map_err(|e| format!("invalid JSON: {e}"))
}

/// Limits of the HTTP layer itself.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest accepted request body, in bytes; a larger one is answered 413 without reading on.
    pub max_body_bytes: usize,
}

/// Everything the routes need, built by the server.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub submit_orders: SubmitOrders,
    pub list_customer_items: ListCustomerItems,
    pub summarize_customers: SummarizeCustomers,
    pub auth: AuthApi,
    pub readiness: CheckReadiness,
    pub lifecycle: Lifecycle,
    pub rate_limit: RateLimitApi,
    pub limits: HttpLimits,
    /// Request-body bytes held at once by every request together (beyond: 503).
    pub body_budget: BodyBudget,
    /// Usernames of failed logins, as they appear in the log.
    pub username_pseudonyms: UsernamePseudonyms,
    /// Whether `/docs` and `/openapi.json` are served (off where the API is not public).
    pub docs: bool,
}

/// The authentication use cases the HTTP layer calls.
#[derive(Debug, Clone)]
pub struct AuthApi {
    pub authenticate: Authenticate,
    pub login: Login,
    pub logout: Logout,
}

/// Registers every route, and problem+json answers for unknown paths and malformed parameters.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let docs = state.docs;
        cfg.app_data(web::Data::new(state))
            .app_data(problem::query_config())
            .app_data(problem::path_config());
        routes::register(cfg);
        if docs {
            openapi::register(cfg);
        }
    }
}

/// The answer for paths no route matches.
pub async fn not_found() -> Problem {
    Problem::not_found("no such resource")
}
