use actix_web::{HttpResponse, web};
use application::ports::StoreError;
use application::use_cases::SubmitError;

use crate::dto::orders::{SubmitResponse, batch_from_json};
use crate::json_body::JsonBody;
use crate::problem::ProblemField;
use crate::{ApiState, Problem};

/// `POST /orders`: 201 when something new was stored, 200 when every order was a duplicate.
pub(crate) async fn submit(
    state: web::Data<ApiState>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, Problem> {
    let batch = batch_from_json(body)?;
    let report = state
        .submit_orders
        .execute(batch)
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

fn submit_problem(err: SubmitError) -> Problem {
    match err {
        SubmitError::EmptyBatch => Problem::bad_request(err.to_string()),
        SubmitError::TooManyOrders { .. } | SubmitError::TooManyItems { .. } => {
            Problem::too_large(format!("{err}; nothing was stored"))
        }
        SubmitError::Invalid(errors) => {
            metrics::counter!("order_manager_validation_failures_total").increment(1);
            Problem::validation(
                format!("{} problem(s) found; nothing was stored", errors.len()),
                errors
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
        SubmitError::Store(err) => store_problem(err),
    }
}

pub(crate) fn store_problem(err: StoreError) -> Problem {
    match err {
        StoreError::Unavailable(_) => Problem::unavailable("the order store is unavailable"),
        StoreError::Contention(_) => Problem::unavailable("the order store is busy; retry"),
        StoreError::Internal(_) => Problem::internal(),
    }
}
