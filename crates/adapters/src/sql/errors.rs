use application::ports::StoreError;
use sea_orm::sqlx;
use sea_orm::sqlx::mysql::MySqlDatabaseError;
use sea_orm::{DbErr, RuntimeErr};

/// Sorts database errors into what the application can act on (by driver error number or code,
/// see `failure`). Details go to the logs only.
pub fn store_error(err: DbErr) -> StoreError {
    let error = classify(err);
    let kind = match &error {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Contention(_) => "contention",
        StoreError::Internal(_) => "internal",
    };
    metrics::counter!("order_manager_db_errors_total", "kind" => kind).increment(1);
    error
}

/// What a failed statement means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The transaction was rolled back by a lock conflict (deadlock, lock wait timeout, Galera
    /// certification failure, SQLite busy/locked): running the whole transaction again is safe
    /// and will likely succeed.
    Retryable,
    /// The database cannot be reached or refuses work right now (connection lost, pool
    /// exhausted, node not ready, statement interrupted by a timeout).
    Unavailable,
    /// Anything else: a bug or a broken schema, never retried.
    Other,
}

fn classify(err: DbErr) -> StoreError {
    match failure(&err) {
        Failure::Retryable => {
            tracing::debug!(error = %err, "transaction conflict");
            StoreError::Contention(err.to_string())
        }
        Failure::Unavailable => {
            tracing::warn!(error = %err, "database unavailable");
            StoreError::Unavailable(err.to_string())
        }
        Failure::Other => {
            tracing::error!(error = %err, "database error");
            StoreError::Internal(err.to_string())
        }
    }
}

/// Classifies by the driver's error code or number, never by the message text.
pub(crate) fn failure(err: &DbErr) -> Failure {
    match err {
        DbErr::ConnectionAcquire(_) => Failure::Unavailable,
        DbErr::Conn(runtime) => match sqlx_error(runtime) {
            Some(sqlx::Error::Database(db)) => database_failure(db.as_ref()),
            _ => Failure::Unavailable,
        },
        DbErr::Exec(runtime) | DbErr::Query(runtime) => match sqlx_error(runtime) {
            Some(sqlx::Error::Database(db)) => database_failure(db.as_ref()),
            Some(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_),
            ) => Failure::Unavailable,
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}

fn sqlx_error(runtime: &RuntimeErr) -> Option<&sqlx::Error> {
    match runtime {
        RuntimeErr::SqlxError(err) => Some(err.as_ref()),
        _ => None,
    }
}

fn database_failure(db: &(dyn sqlx::error::DatabaseError + 'static)) -> Failure {
    if let Some(mysql) = db.try_downcast_ref::<MySqlDatabaseError>() {
        return mysql_failure(mysql.number(), mysql.code());
    }
    // SQLite reports its extended result code; the primary code is the low byte.
    if let Some(code) = db.code().and_then(|c| c.parse::<i32>().ok()) {
        return sqlite_failure(code);
    }
    Failure::Other
}

/// MySQL / MariaDB / Galera (Percona XtraDB Cluster) server error numbers.
pub(crate) fn mysql_failure(number: u16, sql_state: Option<&str>) -> Failure {
    match number {
        // ER_LOCK_DEADLOCK: an InnoDB deadlock, and also how Galera reports a certification
        // failure or a brute-force abort ("WSREP detected deadlock/conflict and aborted the
        // transaction. Try restarting the transaction", SQLSTATE 40001).
        1213
        // ER_LOCK_WAIT_TIMEOUT (innodb_lock_wait_timeout; the transaction is rolled back as a
        // whole because the server runs with innodb_rollback_on_timeout or we drop it).
        | 1205
        // ER_XA_RBDEADLOCK: the same for XA transactions.
        | 1614 => Failure::Retryable,
        // ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared node for application use" (a Galera
        // node that is not synced: another node, or this one later, will take the write).
        1047
        // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_QUERY_INTERRUPTED
        | 1040 | 1053 | 1317
        // MariaDB ER_STATEMENT_TIMEOUT (max_statement_time), MySQL ER_QUERY_TIMEOUT
        // (max_execution_time), ER_CLIENT_INTERACTION_TIMEOUT, read-only node.
        | 1969 | 3024 | 4031 | 1290 | 1792 => Failure::Unavailable,
        // Any other serialization failure, whatever its number.
        _ if sql_state == Some("40001") => Failure::Retryable,
        _ => Failure::Other,
    }
}

/// SQLite extended result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their variants.
pub(crate) fn sqlite_failure(extended_code: i32) -> Failure {
    match extended_code & 0xff {
        5 | 6 => Failure::Retryable,
        _ => Failure::Other,
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    tracing::error!(what, "invalid data read from the database");
    StoreError::Internal(format!("invalid data in the database: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_lock_conflicts_are_retryable() {
        assert_eq!(mysql_failure(1213, Some("40001")), Failure::Retryable);
        assert_eq!(mysql_failure(1205, Some("HY000")), Failure::Retryable);
        assert_eq!(mysql_failure(9999, Some("40001")), Failure::Retryable);
    }

    #[test]
    fn mysql_unavailability_is_not_retried_here() {
        assert_eq!(mysql_failure(1047, Some("08S01")), Failure::Unavailable);
        assert_eq!(mysql_failure(1969, Some("70100")), Failure::Unavailable);
    }

    #[test]
    fn other_mysql_errors_are_not_retryable() {
        // duplicate key, syntax error, unknown column, data too long
        for number in [1062, 1064, 1054, 1406] {
            assert_eq!(mysql_failure(number, Some("23000")), Failure::Other);
        }
    }

    #[test]
    fn sqlite_busy_and_locked_are_retryable() {
        assert_eq!(sqlite_failure(5), Failure::Retryable);
        assert_eq!(sqlite_failure(517), Failure::Retryable); // SQLITE_BUSY_SNAPSHOT
        assert_eq!(sqlite_failure(6), Failure::Retryable);
        assert_eq!(sqlite_failure(262), Failure::Retryable); // SQLITE_LOCKED_SHAREDCACHE
        assert_eq!(sqlite_failure(2067), Failure::Other); // SQLITE_CONSTRAINT_UNIQUE
        assert_eq!(sqlite_failure(1), Failure::Other);
    }

    #[test]
    fn connection_errors_are_unavailable() {
        let err = DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::PoolTimedOut,
        )));
        assert_eq!(failure(&err), Failure::Unavailable);
        let err = DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        ))));
        assert_eq!(failure(&err), Failure::Unavailable);
        let err = DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::RowNotFound,
        )));
        assert_eq!(failure(&err), Failure::Other);
    }
}
