//! The route table: every path, its methods, the scope it requires, and its handler.

pub(crate) mod auth;
pub(crate) mod customers;
pub(crate) mod health;
pub(crate) mod orders;

use actix_web::middleware::from_fn;
use actix_web::web;
use domain::Scope;

use crate::Problem;
use crate::auth::guard;

/// A protected path and the scope it needs (`None`: any authenticated caller).
type Protected = (&'static str, Option<Scope>);

const SUBMIT: Protected = ("/orders", Some(Scope::OrdersWrite));
const SUMMARIES: Protected = ("/customers/summaries", Some(Scope::CustomersRead));
const CUSTOMER_ITEMS: Protected = ("/customers/{customerId}/items", Some(Scope::CustomersRead));
const LOGOUT: Protected = ("/auth/logout", None);

/// Every path the auth guard protects: the guards below take their scope from here, and the
/// OpenAPI document its security requirements.
pub(crate) const PROTECTED: [Protected; 4] = [SUBMIT, SUMMARIES, CUSTOMER_ITEMS, LOGOUT];

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(SUBMIT.0)
            .route(web::post().to(orders::submit))
            .wrap(from_fn(|req, next| guard(SUBMIT.1, req, next)))
            .default_service(web::to(|| async { Problem::method_not_allowed("POST") })),
    )
    .service(
        web::resource(SUMMARIES.0)
            .route(web::get().to(customers::summaries))
            .wrap(from_fn(|req, next| guard(SUMMARIES.1, req, next)))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    .service(
        web::resource(CUSTOMER_ITEMS.0)
            .route(web::get().to(customers::items))
            .wrap(from_fn(|req, next| guard(CUSTOMER_ITEMS.1, req, next)))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    // Public: how credentials are obtained.
    .service(
        web::resource("/auth/login")
            .route(web::post().to(auth::login))
            .default_service(web::to(|| async { Problem::method_not_allowed("POST") })),
    )
    // Any authenticated caller may end its own session.
    .service(
        web::resource(LOGOUT.0)
            .route(web::post().to(auth::logout))
            .wrap(from_fn(|req, next| guard(LOGOUT.1, req, next)))
            .default_service(web::to(|| async { Problem::method_not_allowed("POST") })),
    )
    // Public: probes.
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(health::readyz))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    );
}
