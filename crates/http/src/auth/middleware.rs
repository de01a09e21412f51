use std::future::{Ready, ready};

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use application::Principal;
use domain::Scope;

use super::credentials::authenticate;
use crate::{ApiState, Problem};

/// Middleware for protected routes, used in the route table as
/// `.wrap(from_fn(|req, next| guard(Some(Scope::OrdersWrite), req, next)))`: authenticates the
/// caller, lets the application decide whether the principal holds `required` (any
/// authenticated caller when `None`), and leaves the principal in the request's extensions.
pub(crate) async fn guard(
    required: Option<Scope>,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<ApiState>>().cloned() else {
        return Ok(req.into_response(Problem::internal().error_response()));
    };
    let principal = match authenticate(req.headers(), &state.auth.authenticate).await {
        Ok(principal) => principal,
        Err(problem) => return Ok(req.into_response(problem.error_response())),
    };
    if let Some(required) = required
        && let Err(forbidden) = principal.authorize(required)
    {
        super::credentials::count_failure("forbidden");
        tracing::info!(principal = %principal.label(), %required, "forbidden");
        return Ok(req.into_response(Problem::forbidden(forbidden.to_string()).error_response()));
    }
    req.extensions_mut().insert(principal);
    next.call(req).await
}

/// The principal that the auth middleware authenticated for this request.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // A route that extracts this without the middleware is a wiring bug, answered 500.
        ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .map(Authenticated)
                .ok_or_else(Problem::internal),
        )
    }
}
