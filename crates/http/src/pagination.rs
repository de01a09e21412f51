//! `?limit=&cursor=` query parameters and the `Link: rel="next"` header.

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderName, HeaderValue, LINK};
use application::pagination::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageError, PageRequest};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};

use crate::Problem;

/// The raw query; `limit` is parsed here so that its error names the parameter.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// The parameters as the schema states them, the page size with the use cases' own limits.
impl utoipa::IntoParams for PageQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(MAX_PAGE_LIMIT));
        let cursor = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z0-9_-]*$"));
        vec![
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .description(Some(format!(
                    "Page size: 1 to {MAX_PAGE_LIMIT} (default {DEFAULT_PAGE_LIMIT})."
                )))
                .required(Required::False)
                .schema(Some(limit))
                .example(Some(json!(100)))
                .build(),
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .description(Some(
                    "The opaque `next_cursor` of the previous page (absent or empty: the first \
                     page). Any other value is answered 400.",
                ))
                .required(Required::False)
                .schema(Some(cursor))
                .build(),
        ]
    }
}

impl PageQuery {
    pub(crate) fn into_request(self) -> Result<PageRequest, Problem> {
        let limit = match self.limit {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                Problem::bad_request(format!("limit must be a positive integer, got `{text}`"))
            })?),
        };
        Ok(PageRequest {
            limit,
            cursor: self.cursor.filter(|c| !c.is_empty()),
        })
    }
}

pub(crate) fn page_problem(err: PageError) -> Problem {
    Problem::bad_request(err.to_string())
}

/// A 200 answer, with the `Link: rel="next"` header when another page follows.
pub(crate) fn ok_with_next_link(
    req: &HttpRequest,
    page: &PageRequest,
    next_cursor: Option<&str>,
) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::Ok();
    if let Some(link) = next_cursor.and_then(|cursor| next_link(req, page, cursor)) {
        response.insert_header(link);
    }
    response
}

/// `Link: <path?limit=N&cursor=C>; rel="next"`, relative to the request's own path.
fn next_link(
    req: &HttpRequest,
    page: &PageRequest,
    next_cursor: &str,
) -> Option<(HeaderName, HeaderValue)> {
    let mut query = form_urlencoded_pairs(page.limit, next_cursor);
    query.insert(0, '?');
    let value = format!("<{}{}>; rel=\"next\"", req.path(), query);
    HeaderValue::from_str(&value).ok().map(|v| (LINK, v))
}

fn form_urlencoded_pairs(limit: Option<u64>, cursor: &str) -> String {
    // Cursors are base64url (no characters that need escaping in a query).
    match limit {
        Some(limit) => format!("limit={limit}&cursor={cursor}"),
        None => format!("cursor={cursor}"),
    }
}
