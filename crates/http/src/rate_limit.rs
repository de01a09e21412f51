//! Rate limiting on the request path, before authentication: the middleware [`rate_limit`]
//! finds the client IP, counts the request against the per-IP policy and refuses it with 429
//! when over; the login handler also counts the attempt per IP and per username
//! ([`throttle_login`]) before any password hashing.
//!
//! Every limited response carries the IETF header fields (draft-ietf-httpapi-ratelimit-headers):
//! `RateLimit-Policy: "default";q=200;w=2` (the quota `q` per window `w` seconds, the window
//! being the time an empty bucket takes to refill) and `RateLimit: "default";r=57;t=1` (`r`
//! requests available now, `t` seconds until one more is). Several policies make a list.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use application::use_cases::{Throttle, ThrottleRequests, ThrottleUnavailable, Verdict};

use crate::client_ip::{self, ClientIp, TrustedProxies};
use crate::{ApiState, Problem};

/// Paths never limited: probes must answer whatever clients do.
pub(crate) const UNLIMITED_PATHS: [&str; 2] = ["/healthz", "/readyz"];

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// What the rate limiting of the HTTP layer needs, built by the server.
#[derive(Debug, Clone)]
pub struct RateLimitApi {
    pub throttle: ThrottleRequests,
    pub trusted_proxies: TrustedProxies,
}

/// Verdicts of policies checked by a handler (login), for the middleware to report.
#[derive(Debug, Clone, Default)]
struct HandlerVerdicts(Vec<Verdict>);

/// Middleware for the whole app (`App::wrap(from_fn(rate_limit))`), to run before
/// authentication. Leaves the [`ClientIp`] in the request's extensions.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<ApiState>>().cloned() else {
        tracing::error!("the rate limiting middleware runs without the API state");
        return Ok(req.into_response(Problem::internal().error_response()));
    };
    let client = client_ip::resolve(
        req.peer_addr().map(|peer| peer.ip()),
        req.headers(),
        &state.rate_limit.trusted_proxies,
    );
    req.extensions_mut().insert(ClientIp(client));
    if UNLIMITED_PATHS.contains(&req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }

    let throttle = match state.rate_limit.throttle.request(client).await {
        Ok(throttle) => throttle,
        Err(err) => return Ok(req.into_response(unavailable(&err).error_response())),
    };
    if let Some(wait) = throttle.retry_after() {
        tracing::debug!(client = %client, policy = "default", "rate limited");
        metrics::counter!("order_manager_rate_limited_total", "policy" => "default").increment(1);
        let mut response = Problem::too_many_requests(retry_after_secs(wait)).error_response();
        add_headers(response.headers_mut(), &throttle.verdicts);
        return Ok(req.into_response(response));
    }

    // No clone of the request may live across `next.call`: actix's router needs the only
    // reference to it (a clone makes `match_info_mut` panic).
    let mut response = next.call(req).await?.map_into_boxed_body();
    let from_handler = response
        .request()
        .extensions()
        .get::<HandlerVerdicts>()
        .cloned()
        .unwrap_or_default();
    add_headers(response.headers_mut(), &from_handler.0);
    add_headers(response.headers_mut(), &throttle.verdicts);
    Ok(response)
}

/// Counts a login attempt on `username` per IP and per username. A refusal (429, or 503 when
/// nothing can decide) is the handler's answer; call before any password work.
pub(crate) async fn throttle_login(
    req: &HttpRequest,
    state: &ApiState,
    username: &str,
) -> Result<(), Problem> {
    let client = ClientIp::of(req);
    let throttle: Throttle = state
        .rate_limit
        .throttle
        .login(client.0, username)
        .await
        .map_err(|err| unavailable(&err))?;
    req.extensions_mut()
        .insert(HandlerVerdicts(throttle.verdicts.clone()));
    match throttle.retry_after() {
        None => wait_for_the_username(state, username).await,
        Some(wait) => {
            let refused: Vec<&str> = throttle
                .verdicts
                .iter()
                .filter(|v| !v.decision.allowed)
                .map(|v| v.policy.name())
                .collect();
            tracing::debug!(client = %client, policy = %refused.join(","), "login rate limited");
            for policy in &refused {
                metrics::counter!("order_manager_rate_limited_total", "policy" => *policy)
                    .increment(1);
            }
            Err(Problem::too_many_requests(retry_after_secs(wait)))
        }
    }
}

/// The longest a login waits for its username's budget from anywhere before it is refused.
const LOGIN_DELAY_LIMIT: Duration = Duration::from_secs(3);

/// Waits, if need be, for the username's budget from anywhere (`login-user-all`, see
/// `ThrottleRequests::wait_for_login_anywhere`); beyond [`LOGIN_DELAY_LIMIT`], 429.
async fn wait_for_the_username(state: &ApiState, username: &str) -> Result<(), Problem> {
    let waited = state
        .rate_limit
        .throttle
        .wait_for_login_anywhere(username, LOGIN_DELAY_LIMIT)
        .await
        .map_err(|err| unavailable(&err))?;
    metrics::counter!("order_manager_login_delays_total").increment(u64::from(waited.delays));
    match waited.refused {
        None => Ok(()),
        Some(verdict) => {
            metrics::counter!("order_manager_rate_limited_total", "policy" => verdict.policy.name())
                .increment(1);
            let wait = verdict.decision.retry_after().unwrap_or(LOGIN_DELAY_LIMIT);
            Err(Problem::too_many_requests(retry_after_secs(wait)))
        }
    }
}

fn unavailable(err: &ThrottleUnavailable) -> Problem {
    tracing::error!(error = %err, "no rate limiter can decide: refusing the request");
    Problem::unavailable("rate limiting is unavailable right now")
}

/// Whole seconds, rounded up (waiting less would be refused again), at least 1.
fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

/// Whole seconds, rounded up.
fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

fn add_headers(headers: &mut HeaderMap, verdicts: &[Verdict]) {
    for verdict in verdicts {
        let (policy, decision) = (&verdict.policy, &verdict.decision);
        let name = policy.name();
        let policy_item = format!(
            "\"{name}\";q={};w={}",
            policy.burst(),
            ceil_secs(policy.window()).max(1)
        );
        let limit_item = format!(
            "\"{name}\";r={};t={}",
            decision.remaining,
            ceil_secs(decision.replenish_after)
        );
        // Names are fixed tokens, so these values are always valid; a failure is skipped
        // rather than failing the request.
        if let Ok(value) = HeaderValue::from_str(&policy_item) {
            headers.append(RATELIMIT_POLICY, value);
        }
        if let Ok(value) = HeaderValue::from_str(&limit_item) {
            headers.append(RATELIMIT, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use application::ports::{RateDecision, RatePolicy};

    use super::*;

    fn verdict(name: &'static str, rate: u32, burst: u32, decision: RateDecision) -> Verdict {
        Verdict {
            policy: RatePolicy::new(name, rate, Duration::from_secs(1), burst).unwrap(),
            decision,
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(12)), 12);
    }

    #[test]
    fn headers_follow_the_draft_syntax() {
        let mut headers = HeaderMap::new();
        let allowed = RateDecision {
            allowed: true,
            remaining: 57,
            replenish_after: Duration::from_millis(10),
            reset_after: Duration::from_millis(1430),
        };
        let refused = RateDecision {
            allowed: false,
            remaining: 0,
            replenish_after: Duration::from_millis(2500),
            reset_after: Duration::from_secs(3),
        };
        add_headers(
            &mut headers,
            &[
                verdict("default", 100, 200, allowed),
                verdict("slow", 1, 3, refused),
            ],
        );
        let all = |name: &HeaderName| -> Vec<String> {
            headers
                .get_all(name.clone())
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            all(&RATELIMIT_POLICY),
            [r#""default";q=200;w=2"#, r#""slow";q=3;w=3"#]
        );
        assert_eq!(
            all(&RATELIMIT),
            [r#""default";r=57;t=1"#, r#""slow";r=0;t=3"#]
        );
    }
}
