//! The OpenAPI 3.1 contract, generated from the code: the schemas come from the types that
//! parse the requests and serialize the answers (derived, or built on the parsers of bodies the
//! handlers read as raw JSON), the operations from `#[utoipa::path]` on the handlers (collected
//! here in [`Operations`]; the routes know nothing of this module). What every
//! operation shares (401/403 from the auth guard, 429 and the `RateLimit` fields from the rate
//! limiter, 503) is added by [`CrossCutting`] from the same tables the middleware uses, so the
//! handler annotations only say what is their own.
//!
//! Served at `GET /openapi.json`, with an interactive page at `GET /docs` (Swagger UI, whose
//! assets are compiled into the binary: no CDN). Both are public and, like every path but the
//! probes, rate limited. `docs/openapi.json` is the checked-in copy (`cargo xtask openapi`).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, web};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::Problem;
use crate::dto::raw_orders_schema::customer_id_schema;
use crate::problem::PROBLEM_JSON;
use crate::routes::{PROTECTED, auth, customers, health, orders};

/// The security scheme names, as referenced by `security(...)` on the operations.
pub(crate) const BEARER: &str = "bearer";
pub(crate) const API_KEY: &str = "apiKey";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-manager",
        description = "An order manager for e-commerce: shops submit orders, back offices read \
every item a customer bought and a purchase summary of every customer.\n\n\
Errors are `application/problem+json` (RFC 9457). Every path answers `404` when unknown and \
`405` (with `Allow`) to a method it does not support. Every path but `/healthz` and `/readyz` \
is rate limited per client IP: `429` with `Retry-After`, and the `RateLimit` / \
`RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers) on every limited answer.\n\n\
Credentials: a bearer token from `POST /auth/login`, or an API key in `X-API-Key` \
(`order-manager api-key create`). The scope an operation needs is listed with its security \
requirement; `admin` grants every scope.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "orders", description = "Submitting orders"),
        (name = "customers", description = "Reading what customers bought"),
        (name = "auth", description = "Sessions: bearer tokens"),
        (name = "probes", description = "Liveness and readiness (never rate limited)")
    ),
    modifiers(&CrossCutting)
)]
struct ApiDoc;

/// The operations of the route table; their schemas come along with them.
#[derive(OpenApi)]
#[openapi(paths(
    orders::submit,
    customers::items,
    customers::summaries,
    auth::login,
    auth::logout,
    health::healthz,
    health::readyz
))]
struct Operations;

/// The whole document: the operations of the route table plus the shared parts.
pub fn document() -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    doc.merge(Operations::openapi());
    // The modifiers ran before the merge; the cross-cutting answers need the operations.
    CrossCutting.modify(&mut doc);
    doc
}

/// The document as served and checked in: pretty JSON ending with a newline.
pub fn document_json() -> String {
    match serde_json::to_string_pretty(&document()) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // Serializing plain data structures cannot fail; an empty object keeps it total.
        Err(_) => "{}\n".to_owned(),
    }
}

/// `GET /openapi.json`, `GET /docs` (redirect) and `GET /docs/` with the Swagger UI assets.
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    let spec = web::Bytes::from(document_json());
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(move || {
                let spec = spec.clone();
                async move {
                    HttpResponse::Ok()
                        .insert_header((CONTENT_TYPE, "application/json"))
                        .insert_header((CACHE_CONTROL, "no-cache"))
                        .body(spec)
                }
            }))
            .default_service(web::to(|| async {
                crate::Problem::method_not_allowed("GET")
            })),
    )
    .service(
        web::resource("/docs")
            .route(web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((LOCATION, "/docs/"))
                    .finish()
            }))
            .default_service(web::to(|| async {
                crate::Problem::method_not_allowed("GET")
            })),
    )
    .service(
        SwaggerUi::new("/docs/{_:.*}").config(
            Config::new(["/openapi.json"])
                .try_it_out_enabled(true)
                .persist_authorization(false)
                .display_request_duration(true)
                .display_operation_id(false),
        ),
    );
}

/// Adds what every operation shares, from the tables the middleware itself uses.
struct CrossCutting;

impl Modify for CrossCutting {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `POST /auth/login`, valid for `expires_in` seconds or \
                         until `POST /auth/logout`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A key made by `order-manager api-key create --scope ...` (shown once).",
            ))),
        );

        for (path, item) in openapi.paths.paths.iter_mut() {
            let limited = !crate::rate_limit::UNLIMITED_PATHS.contains(&path.as_str());
            let protected = PROTECTED.iter().find(|(p, _)| p == path);
            for operation in [item.get.as_mut(), item.post.as_mut()]
                .into_iter()
                .flatten()
            {
                // Path ids follow the same rule as ids in bodies, from the domain's own pattern.
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && parameter.name == "customerId"
                    {
                        parameter.schema = Some(RefOr::T(customer_id_schema()));
                    }
                }
                let responses = &mut operation.responses.responses;
                if limited {
                    responses
                        .entry("429".into())
                        .or_insert_with(|| problem_response(TOO_MANY, &[RETRY_AFTER]));
                }
                if let Some((_, scope)) = protected {
                    responses
                        .entry("401".into())
                        .or_insert_with(|| problem_response(UNAUTHORIZED, &[WWW_AUTHENTICATE]));
                    if scope.is_some() {
                        responses
                            .entry("403".into())
                            .or_insert_with(|| problem_response(FORBIDDEN, &[]));
                    }
                    let scopes: Vec<String> = scope.iter().map(|s| s.as_str().to_owned()).collect();
                    operation.security = Some(vec![
                        utoipa::openapi::security::SecurityRequirement::new(BEARER, scopes.clone()),
                        utoipa::openapi::security::SecurityRequirement::new(API_KEY, scopes),
                    ]);
                }
                if let Some(operation_id) = operation.operation_id.clone()
                    && PAGINATED.contains(&operation_id.as_str())
                    && let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200")
                {
                    let mut link = LinkBuilder::new()
                        .operation_id(operation_id.clone())
                        .description("The next page")
                        .parameter("cursor", "$response.body#/next_cursor");
                    if path.contains("{customerId}") {
                        link = link.parameter("customerId", "$request.path.customerId");
                    }
                    ok.links.insert("nextPage".into(), RefOr::T(link.build()));
                }
                let responses = &mut operation.responses.responses;
                if limited || protected.is_some() {
                    responses
                        .entry("503".into())
                        .or_insert_with(|| problem_response(UNAVAILABLE, &[RETRY_AFTER]));
                }
                if limited {
                    for response in responses.values_mut() {
                        if let RefOr::T(response) = response {
                            for (name, description) in RATELIMIT_HEADERS {
                                response
                                    .headers
                                    .entry(name.to_owned())
                                    .or_insert_with(|| RefOr::T(text_header(description)));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Operations answering pages, linked to their next page.
const PAGINATED: [&str; 2] = ["listCustomerItems", "summarizeCustomers"];

const TOO_MANY: &str = "Rate limited (per client IP; `POST /auth/login` also per username)";
const UNAUTHORIZED: &str = "Missing or invalid credentials";
const FORBIDDEN: &str = "The credentials lack the scope this operation needs";
const UNAVAILABLE: &str = "A dependency (database, session store, rate limiter) is unavailable, or the server holds as many request bodies as it may (`ORDER_MANAGER_MAX_INFLIGHT_BODY_BYTES`)";

const RETRY_AFTER: (&str, &str, bool) = ("Retry-After", "Seconds to wait before retrying", true);
const WWW_AUTHENTICATE: (&str, &str, bool) = (
    "WWW-Authenticate",
    "The challenge: `Bearer realm=\"order-manager\"` (with `error=\"invalid_token\"` for a bad token)",
    false,
);
const RATELIMIT_HEADERS: [(&str, &str); 2] = [
    (
        "RateLimit",
        "Requests available now (`r`) and seconds until one more is (`t`) per policy, e.g. \
         `\"default\";r=57;t=1`",
    ),
    (
        "RateLimit-Policy",
        "The quota (`q`) per window (`w` seconds) of each policy, e.g. `\"default\";q=200;w=2`",
    ),
];

fn text_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
        .description(Some(description))
        .build()
}

/// A problem+json answer with the given header fields (`(name, description, integer?)`).
fn problem_response(
    description: &str,
    headers: &[(&str, &str, bool)],
) -> RefOr<utoipa::openapi::Response> {
    let mut builder = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        Content::new(Some(Ref::from_schema_name(Problem::name()))),
    );
    for (name, text, integer) in headers {
        let schema = if *integer {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .build()
        } else {
            ObjectBuilder::new().schema_type(Type::String).build()
        };
        builder = builder.header(
            *name,
            HeaderBuilder::new()
                .schema(Some(schema))
                .description(Some(*text))
                .build(),
        );
    }
    RefOr::T(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_operation_with_its_security() {
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for (path, method) in [
            ("/orders", "post"),
            ("/customers/{customerId}/items", "get"),
            ("/customers/summaries", "get"),
            ("/auth/login", "post"),
            ("/auth/logout", "post"),
            ("/healthz", "get"),
            ("/readyz", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
        let submit = &doc["paths"]["/orders"]["post"];
        assert_eq!(submit["security"][1]["apiKey"][0], "orders:write");
        for status in [
            "201", "200", "400", "401", "403", "409", "413", "415", "429", "503",
        ] {
            assert!(
                submit["responses"][status].is_object(),
                "POST /orders {status}"
            );
        }
        assert!(doc["paths"]["/healthz"]["get"]["responses"]["429"].is_null());
    }

    #[test]
    fn the_problem_schema_names_every_field_a_problem_serializes() {
        let doc = serde_json::to_value(document()).unwrap();
        let properties = &doc["components"]["schemas"]["ProblemDetails"]["properties"];
        let mut validation = crate::Problem::validation(
            "1 problem",
            1,
            vec![crate::problem::ProblemField {
                index: 0,
                field: "orderId".into(),
                message: "must not be empty".into(),
            }],
        );
        for problem in [
            &mut validation,
            &mut crate::Problem::conflict(vec!["50".into()]),
        ] {
            let value = serde_json::to_value(&*problem).unwrap();
            for key in value.as_object().unwrap().keys() {
                assert!(properties[key].is_object(), "`{key}` is not documented");
            }
        }
    }
}
