use actix_web::http::header::{CACHE_CONTROL, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::auth::{LoginError, LogoutError};
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::json_body::LoginBytes;
use crate::{ApiState, Problem};

/// `{"access_token":"...","token_type":"Bearer","expires_in":3600}` (RFC 6749 names).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9...", "token_type": "Bearer", "expires_in": 3600}))]
pub(crate) struct TokenResponse {
    access_token: String,
    #[schema(value_type = String, pattern = "^Bearer$")]
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
}

/// `POST /auth/login`: the credentials; other keys are ignored.
// Read straight into its fields: serde refuses a repeated one.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(
    as = LoginRequest,
    example = json!({"username":"admin","password":"correct horse battery staple"})
)]
pub(crate) struct Credentials {
    username: String,
    #[schema(format = Password)]
    password: String,
}

fn credentials(body: &[u8]) -> Result<Credentials, Problem> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Problem::bad_request(format!(
            "`username` and `password` are required strings: {e}"
        )),
        _ => Problem::malformed_json(format!("invalid JSON: {e}")),
    })
}

/// `POST /auth/login {"username","password"}`: a bearer token for a new session.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    summary = "Log in: a bearer token for a new session",
    description = "Also limited to 10 attempts a minute per client IP and 5 per username, \
        checked before the password is.",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Malformed JSON, or `username` / `password` missing",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown user or wrong password",
            body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"order-manager\"`"))),
        (status = 413, description = "The body is too large",
            body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<ApiState>,
    LoginBytes(body, _reserved): LoginBytes,
) -> Result<HttpResponse, Problem> {
    let Credentials { username, password } = credentials(&body)?;
    drop(body);
    let (username, password) = (username.as_str(), password.as_str());
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
                tracing::info!(
                    reason = "invalid_credentials",
                    client_ip = %crate::ClientIp::of(&req),
                    username = %state.username_pseudonyms.of(username),
                    "login failed"
                );
                Problem::unauthorized(crate::auth::UNAUTHORIZED_DETAIL, crate::auth::CHALLENGE)
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
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout",
    summary = "Log out: the bearer token stops working on every replica",
    responses(
        (status = 204, description = "The session ended"),
        (status = 403, description = "The credentials are an API key, which has no session",
            body = Problem, content_type = "application/problem+json"),
    )
)]
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
            LogoutError::NotASession => Problem::forbidden(err.to_string()),
            LogoutError::Unavailable(_) => Problem::unavailable("logout is unavailable right now"),
        })?;
    Ok(HttpResponse::NoContent().finish())
}
