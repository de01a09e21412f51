//! RFC 9457 problem details: every error the API returns has this shape.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use application::ports::StoreError;
use application::use_cases::SubmitLimits;
use serde::Serialize;
use utoipa::openapi::schema::{ArrayBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// One problem of a submitted batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"index":0,"field":"items[2].costEur","message":"`-1` is negative; amounts must be >= 0"}))]
pub struct ProblemField {
    /// The index of the order in the batch.
    pub index: usize,
    /// The field path in the order, e.g. `items[2].costEur`.
    pub field: String,
    pub message: String,
}

/// An error answer in `application/problem+json`. Boxed: it travels in every `Result` of the
/// HTTP layer, and the happy path should not pay for its size.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

/// An RFC 9457 problem (`application/problem+json`): every error answer of the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(
    as = ProblemDetails,
    example = json!({"type":"urn:order-manager:problem:order-id-conflict","title":"Order id conflict","status":409,"detail":"order ids already used by orders with different content: 50; nothing was stored","conflictingOrderIds":["50"]})
)]
struct ProblemBody {
    /// A URN naming the kind of problem, e.g. `urn:order-manager:problem:validation`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    type_uri: &'static str,
    #[schema(value_type = String)]
    title: &'static str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = listed_errors_schema)]
    errors: Option<Vec<ProblemField>>,
    /// How many validation problems the batch has in all (400); `errors` lists the first.
    #[serde(rename = "errorCount", skip_serializing_if = "Option::is_none")]
    error_count: Option<usize>,
    /// The order ids already stored with other content (409).
    #[serde(
        rename = "conflictingOrderIds",
        skip_serializing_if = "Option::is_none"
    )]
    conflicting_order_ids: Option<Vec<String>>,
    #[serde(skip)]
    retry_after_seconds: Option<u32>,
    #[serde(skip)]
    allow: Option<&'static str>,
    #[serde(skip)]
    www_authenticate: Option<&'static str>,
}

/// `errors`: as many as the submit use case lists by default.
fn listed_errors_schema() -> Schema {
    let listed = SubmitLimits::DEFAULT.max_listed_errors;
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(Ref::from_schema_name(ProblemField::name()))
        .description(Some(format!(
            "Validation problems of a batch (400), each with the order index and field path: \
             the first {listed}, in batch order."
        )))
        .max_items(Some(listed))
        .into()
}

impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        ProblemBody::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> Cow<'static, str> {
        ProblemBody::name()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ProblemField::name().into_owned(), ProblemField::schema()));
        ProblemBody::schemas(schemas);
    }
}

/// The answer to a failed store operation: retryable (503) unless the store itself failed.
impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Problem::unavailable("the order store is unavailable"),
            StoreError::Contention(_) => Problem::unavailable("the order store is busy; retry"),
            StoreError::Internal(_) => Problem::internal(),
        }
    }
}

impl Problem {
    fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: String) -> Self {
        Self(Box::new(ProblemBody {
            type_uri: slug,
            title,
            status: status.as_u16(),
            detail,
            errors: None,
            error_count: None,
            conflicting_order_ids: None,
            retry_after_seconds: None,
            allow: None,
            www_authenticate: None,
        }))
    }

    /// The human-readable explanation of this problem.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "urn:order-manager:problem:bad-request",
            "Bad request",
            detail.into(),
        )
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "urn:order-manager:problem:malformed-json",
            "Malformed JSON",
            detail.into(),
        )
    }

    /// Invalid orders: the first problems, and how many there are in all.
    pub fn validation(detail: impl Into<String>, total: usize, errors: Vec<ProblemField>) -> Self {
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "urn:order-manager:problem:validation",
            "Invalid orders",
            detail.into(),
        );
        problem.0.errors = Some(errors);
        problem.0.error_count = Some(total);
        problem
    }

    /// Missing or invalid credentials. `challenge` goes into `WWW-Authenticate`.
    pub fn unauthorized(detail: impl Into<String>, challenge: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "urn:order-manager:problem:unauthorized",
            "Unauthorized",
            detail.into(),
        );
        problem.0.www_authenticate = Some(challenge);
        problem
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "urn:order-manager:problem:forbidden",
            "Forbidden",
            detail.into(),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "urn:order-manager:problem:not-found",
            "Not found",
            detail.into(),
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "urn:order-manager:problem:method-not-allowed",
            "Method not allowed",
            format!("this resource supports {allow}"),
        );
        problem.0.allow = Some(allow);
        problem
    }

    pub fn conflict(ids: Vec<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::CONFLICT,
            "urn:order-manager:problem:order-id-conflict",
            "Order id conflict",
            format!(
                "order ids already used by orders with different content: {}; nothing was stored",
                ids.join(", ")
            ),
        );
        problem.0.conflicting_order_ids = Some(ids);
        problem
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "urn:order-manager:problem:too-large",
            "Request too large",
            detail.into(),
        )
    }

    /// The client sent its body too slowly: 408.
    pub fn request_timeout(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "urn:order-manager:problem:request-timeout",
            "Request timeout",
            detail.into(),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "urn:order-manager:problem:unsupported-media-type",
            "Unsupported media type",
            detail.into(),
        )
    }

    /// Over a rate limit: 429 with `Retry-After` in whole seconds.
    pub fn too_many_requests(retry_after_secs: u32) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "urn:order-manager:problem:rate-limited",
            "Too many requests",
            format!("too many requests; retry in {retry_after_secs} s"),
        );
        problem.0.retry_after_seconds = Some(retry_after_secs);
        problem
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "urn:order-manager:problem:unavailable",
            "Service unavailable",
            detail.into(),
        );
        problem.0.retry_after_seconds = Some(1);
        problem
    }

    /// A fault of the service itself. The detail stays generic: causes belong in the logs.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "urn:order-manager:problem:internal",
            "Internal error",
            "the service failed to handle the request; it has been logged".into(),
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.0.status, self.0.title, self.0.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = self.0.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = self.0.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let Some(allow) = self.0.allow {
            response.insert_header((header::ALLOW, allow));
        }
        match serde_json::to_vec(self) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

impl actix_web::Responder for Problem {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// Malformed query strings (`?limit=abc`, repeated keys) answer problem+json, not text.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        Problem::bad_request(format!("invalid query string: {err}")).into()
    })
}

/// Path segments that do not decode (invalid UTF-8 in percent-encoding) answer problem+json.
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        Problem::bad_request(format!("invalid path parameter: {err}")).into()
    })
}
