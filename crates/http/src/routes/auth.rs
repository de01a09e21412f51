use actix_web::http::header::{CACHE_CONTROL, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::auth::{LoginError, LogoutError};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Authenticated;
use crate::json_body::JsonBody;
use crate::{ApiState, Problem};

/// `{"access_token":"...","token_type":"Bearer","expires_in":3600}` (RFC 6749 names).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

fn text_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Problem> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::bad_request(format!("`{name}` is required and must be a string")))
}

/// `POST /auth/login {"username","password"}`: a bearer token for a new session.
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<ApiState>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, Problem> {
    let username = text_field(&body, "username")?;
    let password = text_field(&body, "password")?;
    // Before the password is verified: throttled guesses cost no hashing.
    crate::rate_limit::throttle_login(&req, &state, username).await?;
    let token = state
        .auth
        .login
        .execute(username, password)
        .await
        .map_err(|err| match err {
            LoginError::InvalidCredentials => {
                crate::auth::count_failure("invalid_credentials");
                tracing::info!(reason = "invalid_credentials", "login failed");
                Problem::unauthorized(err.to_string(), crate::auth::CHALLENGE)
            }
            LoginError::Unavailable(cause) => {
                tracing::warn!(%cause, "login impossible: a dependency is down");
                Problem::unavailable("login is unavailable right now")
            }
            LoginError::Internal(cause) => {
                tracing::error!(%cause, "login failed");
                Problem::internal()
            }
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, CacheControl(vec![CacheDirective::NoStore])))
        .json(TokenResponse {
            access_token: token.access_token,
            token_type: "Bearer",
            expires_in: token.expires_in_secs,
        }))
}

/// `POST /auth/logout`: ends the caller's session on every replica at once.
pub(crate) async fn logout(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, Problem> {
    state
        .auth
        .logout
        .execute(&principal)
        .await
        .map_err(|err| match err {
            LogoutError::NotASession => Problem::bad_request(err.to_string()),
            LogoutError::Unavailable(_) => Problem::unavailable("logout is unavailable right now"),
        })?;
    Ok(HttpResponse::NoContent().finish())
}
