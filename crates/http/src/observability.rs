//! The outermost middleware: a request id on every request (and every log line of it), one
//! access log line, and the request metrics by route template.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use application::Principal;

use crate::ClientIp;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// This request's id: the caller's `X-Request-Id` when sane, else a fresh UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// An id from outside is kept only if it cannot break a log line or a header: 1 to 64
/// characters of letters, digits and `-_.:`.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The route template (`/customers/{customerId}/items`), never the raw path: raw paths would
/// put customer ids into logs' route field and explode metric cardinality.
fn route_of(req: &HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// The method as a metric label: one of the standard methods, or `OTHER`. actix accepts any
/// method token, and every distinct label value is a series kept for the life of the process:
/// a client inventing methods must not grow the replica's memory or Prometheus' index.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Middleware: wraps the whole app (`App::wrap(from_fn(observe))`, registered last so that it
/// runs first).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let method_label = method_label(req.method());
    let span = tracing::info_span!("request", request_id = %id, method = %method);
    let mut response = next.call(req).instrument(span.clone()).await?;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = route_of(response.request());
    let principal = response
        .request()
        .extensions()
        .get::<Principal>()
        .map(Principal::label);
    // The client as the rate limiter resolved it (through trusted proxies), next to the TCP
    // peer it came from: the two differ behind a proxy, and a spoofed header shows as such.
    let client_ip = response
        .request()
        .extensions()
        .get::<ClientIp>()
        .map(|client| client.0.to_string());
    let peer = response
        .request()
        .peer_addr()
        .map(|peer| peer.ip().to_string());
    span.in_scope(|| {
        tracing::info!(
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            client_ip = client_ip.as_deref().unwrap_or("-"),
            peer = peer.as_deref().unwrap_or("-"),
            principal = principal.as_deref().unwrap_or("-"),
            "request completed"
        );
    });
    let labels = [
        ("method", method_label.to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());

    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::sane;

    #[test]
    fn only_short_plain_ids_are_taken_over() {
        assert!(sane("3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b"));
        assert!(sane("req_42.retry:1"));
        assert!(!sane(""));
        assert!(!sane(&"x".repeat(65)));
        assert!(!sane("a b"));
        assert!(!sane("evil\nline"));
        assert!(!sane("<script>"));
    }
}
