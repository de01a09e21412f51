//! Prometheus exposition on its own listener (`ORDER_MANAGER_METRICS_BIND`), so that the public
//! ingress never serves it.

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use adapters::sql::{DatabaseConnection, pool_usage};
use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: from a cached read to a slow 1000-order batch.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder: `metrics` has one global recorder by design; tests that start
/// several apps in one process share it.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            LATENCY_BUCKETS,
        )
        .context("invalid latency buckets")?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_ok() {
        let _ = HANDLE.set(handle.clone());
        metrics::gauge!("order_manager_build_info", "version" => env!("CARGO_PKG_VERSION"))
            .set(1.0);
        // Counters exist from the start, at zero: "no orders ingested" alerts and rate() need a
        // series before the first event.
        for counter in [
            "order_manager_orders_ingested_total",
            "order_manager_order_items_ingested_total",
            "order_manager_order_duplicates_total",
            "order_manager_order_conflicts_total",
            "order_manager_validation_failures_total",
        ] {
            metrics::counter!(counter).increment(0);
        }
        Ok(handle)
    } else {
        // Another thread won the race; use its handle.
        HANDLE
            .get()
            .cloned()
            .context("a metrics recorder of another kind is installed")
    }
}

#[derive(Clone)]
struct Exposition {
    handle: PrometheusHandle,
    db: DatabaseConnection,
    max_connections: u32,
}

async fn render(state: web::Data<Exposition>) -> HttpResponse {
    // Pool usage is read at scrape time: always current, and no background task.
    let (open, idle, max) = pool_usage(&state.db, state.max_connections);
    metrics::gauge!("order_manager_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("order_manager_db_pool_connections", "state" => "in_use")
        .set(f64::from(open.saturating_sub(idle)));
    metrics::gauge!("order_manager_db_pool_max_connections").set(f64::from(max));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.handle.render())
}

/// The metrics listener: `GET /metrics` only. Returns the server and the port it bound.
pub fn serve(
    bind: SocketAddr,
    handle: PrometheusHandle,
    db: DatabaseConnection,
    max_connections: u32,
) -> anyhow::Result<(Server, u16)> {
    let listener =
        TcpListener::bind(bind).with_context(|| format!("cannot listen for metrics on {bind}"))?;
    let port = listener.local_addr()?.port();
    let state = Exposition {
        handle,
        db,
        max_connections,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/metrics", web::get().to(render))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}
