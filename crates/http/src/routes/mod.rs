//! The route table: every path, its methods, and its handler in one place.

mod customers;
mod health;
mod orders;

use actix_web::web;

use crate::Problem;

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::post().to(orders::submit))
            .default_service(web::to(|| async { Problem::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/customers/summaries")
            .route(web::get().to(customers::summaries))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    .service(
        web::resource("/customers/{customerId}/items")
            .route(web::get().to(customers::items))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .default_service(web::to(|| async { Problem::method_not_allowed("GET") })),
    );
}
