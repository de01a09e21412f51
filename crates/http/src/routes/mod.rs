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

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::post().to(orders::submit))
            .wrap(from_fn(|req, next| {
                guard(Some(Scope::OrdersWrite), req, next)
            }))
            .default_service(web::to(|| async { Problem::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/customers/summaries")
            .route(web::get().to(customers::summaries))
            .wrap(from_fn(|req, next| {
                guard(Some(Scope::CustomersRead), req, next)
            }))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    .service(
        web::resource("/customers/{customerId}/items")
            .route(web::get().to(customers::items))
            .wrap(from_fn(|req, next| {
                guard(Some(Scope::CustomersRead), req, next)
            }))
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
        web::resource("/auth/logout")
            .route(web::post().to(auth::logout))
            .wrap(from_fn(|req, next| guard(None, req, next)))
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
