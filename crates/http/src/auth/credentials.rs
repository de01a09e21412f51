//! Reading credentials from headers: `Authorization: Bearer <token>` or `X-API-Key: <key>`.

use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use application::Principal;
use application::use_cases::auth::{AuthError, Authenticate};

use crate::Problem;

pub(crate) const API_KEY_HEADER: &str = "x-api-key";
pub(crate) const CHALLENGE: &str = r#"Bearer realm="order-manager""#;
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer realm="order-manager", error="invalid_token""#;
/// The detail of every 401, whatever the reason: which one (expired, bad signature, unknown
/// key id, revoked key, ended session) goes to the log and to `auth_failures_total` only, so
/// that a caller learns nothing about keys and sessions it does not hold.
pub(crate) const UNAUTHORIZED_DETAIL: &str = "missing or invalid credentials: send \
    `Authorization: Bearer <token>` (from POST /auth/login) or `X-API-Key: <key>`";

enum Presented<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// Counts a refused authentication by reason (`missing`, `malformed`, `invalid_token`, ...).
pub(crate) fn count_failure(reason: &'static str) {
    metrics::counter!("order_manager_auth_failures_total", "reason" => reason).increment(1);
}

fn presented(headers: &HeaderMap) -> Result<Presented<'_>, Problem> {
    let mut authorization = headers.get_all(AUTHORIZATION);
    let mut api_key = headers.get_all(API_KEY_HEADER);
    let (auth, second_auth) = (authorization.next(), authorization.next());
    let (key, second_key) = (api_key.next(), api_key.next());
    if second_auth.is_some() || second_key.is_some() || (auth.is_some() && key.is_some()) {
        tracing::info!(reason = "several credentials", "authentication failed");
        return Err(Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE));
    }
    if let Some(key) = key {
        let key = key
            .to_str()
            .map_err(|_| Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE))?;
        return Ok(Presented::ApiKey(key.trim()));
    }
    let Some(auth) = auth else {
        return Err(Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE));
    };
    let value = auth
        .to_str()
        .map_err(|_| Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Presented::Bearer(token.trim()))
        }
        _ => {
            tracing::info!(reason = "not a bearer token", "authentication failed");
            Err(Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE))
        }
    }
}

/// Authenticates the request's credentials into a principal, or the problem to answer.
pub(crate) async fn authenticate(
    headers: &HeaderMap,
    authenticate: &Authenticate,
) -> Result<Principal, Problem> {
    let presented = presented(headers).inspect_err(|_| count_failure("missing_or_malformed"))?;
    let outcome = match presented {
        Presented::Bearer(token) => authenticate.bearer(token).await,
        Presented::ApiKey(key) => authenticate.api_key(key).await,
    };
    outcome.map_err(|err| match err {
        AuthError::Unavailable(cause) => {
            count_failure("unavailable");
            tracing::warn!(%cause, "credentials could not be checked");
            Problem::unavailable("credentials cannot be checked right now")
        }
        AuthError::InvalidToken(_) | AuthError::SessionEnded => {
            count_failure(if err == AuthError::SessionEnded {
                "session_ended"
            } else {
                "invalid_token"
            });
            tracing::info!(reason = %err, "authentication failed");
            Problem::unauthorized(UNAUTHORIZED_DETAIL, INVALID_TOKEN_CHALLENGE)
        }
        AuthError::InvalidApiKey | AuthError::RevokedApiKey => {
            count_failure(if err == AuthError::RevokedApiKey {
                "revoked_api_key"
            } else {
                "invalid_api_key"
            });
            tracing::info!(reason = %err, "authentication failed");
            Problem::unauthorized(UNAUTHORIZED_DETAIL, CHALLENGE)
        }
    })
}
