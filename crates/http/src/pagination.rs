//! `?limit=&cursor=` query parameters and the `Link: rel="next"` header.

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderName, HeaderValue, LINK};
use application::pagination::{PageError, PageRequest};
use serde::Deserialize;

use crate::Problem;

/// The raw query; `limit` is parsed here so that its error names the parameter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size: 1 to 10000 (default 1000).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 10000, example = 100)]
    limit: Option<String>,
    /// The opaque `next_cursor` of the previous page (absent or empty: the first page). Any
    /// other value is answered 400.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
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
