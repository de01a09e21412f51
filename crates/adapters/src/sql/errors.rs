use application::ports::StoreError;
use sea_orm::DbErr;

/// Sorts database errors into what the application can act on. Details go to the logs only.
pub(crate) fn store_error(err: DbErr) -> StoreError {
    let error = classify(err);
    let kind = match &error {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Contention(_) => "contention",
        StoreError::Internal(_) => "internal",
    };
    metrics::counter!("order_manager_db_errors_total", "kind" => kind).increment(1);
    error
}

fn classify(err: DbErr) -> StoreError {
    match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            tracing::warn!(error = %err, "database unavailable");
            StoreError::Unavailable(err.to_string())
        }
        _ if is_lock_conflict(&err) => StoreError::Contention(err.to_string()),
        _ => {
            tracing::error!(error = %err, "database error");
            StoreError::Internal(err.to_string())
        }
    }
}

/// Deadlock, lock wait timeout, or SQLite's busy database: the transaction can be retried.
fn is_lock_conflict(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("1213") || text.contains("1205") || text.contains("database is locked")
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    tracing::error!(what, "invalid data read from the database");
    StoreError::Internal(format!("invalid data in the database: {what}"))
}
