use actix_web::{HttpResponse, web};

use crate::dto::health::{Health, Readiness};
use crate::{ApiState, Problem};

/// Liveness: the process answers. Checks no dependency, so a database outage never restarts it.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    operation_id = "healthz",
    summary = "Liveness (checks no dependency)",
    responses((status = 200, description = "The process answers", body = Health))
)]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: may this replica receive traffic? Not while shutting down, and not while the
/// database (or Redis, when sessions live there) does not answer in time.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    operation_id = "readyz",
    summary = "Readiness: may this replica receive traffic?",
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "Shutting down, or a dependency (named) is down",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
pub(crate) async fn readyz(state: web::Data<ApiState>) -> Result<HttpResponse, Problem> {
    if state.lifecycle.is_draining() {
        return Err(Problem::unavailable("shutting down"));
    }
    let readiness = state.readiness.execute().await;
    for (dependency, up) in &readiness.checked {
        metrics::gauge!("order_manager_dependency_up", "dependency" => dependency.as_str())
            .set(if *up { 1.0 } else { 0.0 });
    }
    if readiness.is_ready() {
        let checks = readiness
            .checked
            .iter()
            .map(|(d, _)| (d.as_str(), "up"))
            .collect();
        return Ok(HttpResponse::Ok().json(Readiness {
            checks,
            status: "ready",
        }));
    }
    let down: Vec<&str> = readiness.down().iter().map(|d| d.as_str()).collect();
    Err(Problem::unavailable(format!(
        "not ready: {} down",
        down.join(" and ")
    )))
}
