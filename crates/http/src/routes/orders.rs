use actix_web::{HttpResponse, web};
use application::use_cases::SubmitError;

use crate::dto::orders::{SubmitResponse, batch_from_slice};
use crate::dto::raw_orders::BodySeed;
use crate::json_body::JsonBytes;
use crate::problem::ProblemField;
use crate::{ApiState, Problem};

/// `POST /orders`: 201 when something new was stored, 200 when every order was a duplicate.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    operation_id = "submitOrders",
    summary = "Submit a batch of orders",
    description = "A JSON array of orders (a single order object is accepted too). The batch is \
        atomic: if any order is invalid nothing is stored and the answer lists every problem. \
        Idempotent by `orderId`: an identical order already stored is counted in `duplicates`; \
        the same `orderId` with other content is a 409 for the whole batch.",
    request_body(content = BodySeed, content_type = "application/json"),
    responses(
        (status = 201, description = "At least one new order was stored", body = SubmitResponse,
            example = json!({"status": "ok", "accepted": 1, "duplicates": 0})),
        (status = 200, description = "Every order was already stored (all duplicates)",
            body = SubmitResponse, example = json!({"status": "ok", "accepted": 0, "duplicates": 1})),
        (status = 400, description = "Malformed JSON, or invalid orders (`errors` lists each)",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An orderId is already stored with other content \
            (`conflictingOrderIds`); nothing was stored",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many orders, items or bytes; nothing was stored",
            body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit(
    state: web::Data<ApiState>,
    // The reservation is held as long as the parsed batch lives, which may be after this
    // handler was dropped (a client gone while its orders wait for a write group): handed over.
    JsonBytes(body, reserved): JsonBytes,
) -> Result<HttpResponse, Problem> {
    let batch = batch_from_slice(&body)?;
    drop(body);
    let report = state
        .submit_orders
        .execute_holding(batch, reserved)
        .await
        .map_err(submit_problem)?;
    metrics::counter!("order_manager_orders_ingested_total").increment(report.accepted as u64);
    metrics::counter!("order_manager_order_items_ingested_total")
        .increment(report.accepted_items as u64);
    metrics::counter!("order_manager_order_duplicates_total").increment(report.duplicates as u64);
    let body = SubmitResponse {
        status: "ok",
        accepted: report.accepted,
        duplicates: report.duplicates,
    };
    Ok(if report.accepted > 0 {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

pub(crate) fn submit_problem(err: SubmitError) -> Problem {
    match err {
        SubmitError::EmptyBatch => Problem::bad_request(err.to_string()),
        SubmitError::TooManyOrders { .. } | SubmitError::TooManyItems { .. } => {
            Problem::too_large(format!("{err}; nothing was stored"))
        }
        SubmitError::Invalid(errors) => {
            metrics::counter!("order_manager_validation_failures_total").increment(1);
            let detail = if errors.total > errors.listed.len() {
                format!(
                    "{} problem(s) found, the first {} listed; nothing was stored",
                    errors.total,
                    errors.listed.len()
                )
            } else {
                format!("{} problem(s) found; nothing was stored", errors.total)
            };
            Problem::validation(
                detail,
                errors.total,
                errors
                    .listed
                    .into_iter()
                    .map(|e| ProblemField {
                        index: e.index,
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            )
        }
        SubmitError::Conflict(ids) => {
            metrics::counter!("order_manager_order_conflicts_total").increment(ids.len() as u64);
            Problem::conflict(ids.into_iter().map(|id| id.into_string()).collect())
        }
        SubmitError::Busy => {
            Problem::unavailable("too many orders are waiting to be written; retry")
        }
        SubmitError::Store(err) => Problem::from(err),
    }
}
