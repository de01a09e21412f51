use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::{ListItemsError, SummarizeError};

use crate::dto::customers::{ItemsResponse, SummariesResponse};
use crate::pagination::{PageQuery, ok_with_next_link, page_problem};
use crate::{ApiState, Problem};

/// `GET /customers/{customerId}/items`: the customer's items in purchase order, paginated.
#[utoipa::path(
    get,
    path = "/customers/{customerId}/items",
    tag = "customers",
    operation_id = "listCustomerItems",
    summary = "Every item a customer bought, in purchase order",
    description = "Ordered by order timestamp, then orderId, then position in the order. \
        Paginated: when more follow, `next_cursor` is in the body and `Link: <...>; rel=\"next\"` \
        in the header.",
    params(
        // Its schema (length, pattern) is the domain's, set in `openapi.rs` (`CrossCutting`).
        ("customerId" = String, Path, description = "The customer id, compared exactly",
            example = "01"),
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of the customer's items", body = ItemsResponse,
            headers(("Link" = String, description = "`<path?limit=N&cursor=C>; rel=\"next\"` when more items follow"))),
        (status = 400, description = "Invalid customer id, limit or cursor",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No order of this customer is stored",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn items(
    req: HttpRequest,
    state: web::Data<ApiState>,
    customer_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    let page_request = query.into_inner().into_request()?;
    let page = state
        .list_customer_items
        .execute(&customer_id, page_request.clone())
        .await
        .map_err(|err| match err {
            ListItemsError::InvalidCustomerId(_) => Problem::bad_request(err.to_string()),
            ListItemsError::InvalidPage(err) => page_problem(err),
            ListItemsError::UnknownCustomer(_) => Problem::not_found(err.to_string()),
            ListItemsError::Store(err) => Problem::from(err),
        })?;
    let mut response = ok_with_next_link(&req, &page_request, page.next_cursor.as_deref());
    Ok(response.json(ItemsResponse {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `GET /customers/summaries`: every customer's item count and total, by customer id.
#[utoipa::path(
    get,
    path = "/customers/summaries",
    tag = "customers",
    operation_id = "summarizeCustomers",
    summary = "Every customer's purchase summary, by customer id",
    description = "`nbrOfPurchasedItems` counts item entries, `totalAmountEur` sums `costEur`. \
        Paginated like the items.",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of summaries (`{\"summaries\":[]}` for an empty store)",
            body = SummariesResponse,
            headers(("Link" = String, description = "`<path?limit=N&cursor=C>; rel=\"next\"` when more summaries follow"))),
        (status = 400, description = "Invalid limit or cursor",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn summaries(
    req: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    let page_request = query.into_inner().into_request()?;
    let page = state
        .summarize_customers
        .execute(page_request.clone())
        .await
        .map_err(|err| match err {
            SummarizeError::InvalidPage(err) => page_problem(err),
            SummarizeError::Store(err) => Problem::from(err),
        })?;
    let mut response = ok_with_next_link(&req, &page_request, page.next_cursor.as_deref());
    Ok(response.json(SummariesResponse {
        summaries: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
