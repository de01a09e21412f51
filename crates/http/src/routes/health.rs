use actix_web::HttpResponse;
use serde_json::json;

/// Liveness: the process answers. Checks no dependency, so a database outage never restarts it.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}
