//! Retries of whole transactions on lock conflicts, against a real MariaDB (the server whose URL
//! `cargo xtask ci` passes in `ORDER_MANAGER_TEST_MYSQL_URL`): a deadlock provoked on purpose is
//! classified from the server's error number and the losing transaction is run again; errors
//! that are not lock conflicts are never retried.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use adapters::sql::{DatabaseSettings, SqlResilience, connect, store_error};
use application::ports::StoreError;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use tokio::sync::Barrier;

fn settings(url: String) -> DatabaseSettings {
    DatabaseSettings {
        url,
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
    }
}

fn policy() -> SqlResilience {
    SqlResilience {
        operation_timeout: Duration::from_secs(30),
        max_attempts: 5,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
    }
}

/// A database of the test's own with a two-row table, dropped at the end.
struct Scratch {
    admin: DatabaseConnection,
    db: DatabaseConnection,
    name: String,
}

impl Scratch {
    async fn new() -> Self {
        let server = testkit::stores::mysql_server_url();
        let name = format!("om_retry_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&settings(server.clone())).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
            .await
            .unwrap();
        let db = connect(&settings(testkit::stores::database_url(&server, &name)))
            .await
            .unwrap();
        db.execute_unprepared(
            "CREATE TABLE locks (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB",
        )
        .await
        .unwrap();
        db.execute_unprepared("INSERT INTO locks VALUES (1, 0), (2, 0)")
            .await
            .unwrap();
        Self { admin, db, name }
    }

    async fn value(&self, id: i32) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT v FROM locks WHERE id = {id}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i32>(0).unwrap().into()
    }

    async fn drop_database(self) {
        self.db.close().await.ok();
        self.admin
            .execute_unprepared(&format!("DROP DATABASE `{}`", self.name))
            .await
            .unwrap();
    }
}

/// One attempt: lock `first`, wait (on the first attempt only) until the other writer holds its
/// first row too, then lock `second`: two writers in opposite order deadlock for sure.
async fn crossed_update(
    db: &DatabaseConnection,
    first: i32,
    second: i32,
    barrier: &Barrier,
    attempts: &AtomicU32,
    errors: &std::sync::Mutex<Vec<StoreError>>,
) -> Result<(), StoreError> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let outcome = async {
        let txn = db.begin().await.map_err(store_error)?;
        txn.execute_unprepared(&format!("UPDATE locks SET v = v + 1 WHERE id = {first}"))
            .await
            .map_err(store_error)?;
        if attempt == 1 {
            barrier.wait().await;
        }
        txn.execute_unprepared(&format!("UPDATE locks SET v = v + 1 WHERE id = {second}"))
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)
    }
    .await;
    if let Err(err) = &outcome {
        errors.lock().unwrap().push(err.clone());
    }
    outcome
}

#[tokio::test]
async fn a_real_deadlock_is_classified_and_retried() {
    let scratch = Scratch::new().await;
    let barrier = Arc::new(Barrier::new(2));
    let attempts_a = Arc::new(AtomicU32::new(0));
    let attempts_b = Arc::new(AtomicU32::new(0));
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));

    let writer = |first: i32, second: i32, attempts: Arc<AtomicU32>| {
        let db = scratch.db.clone();
        let barrier = barrier.clone();
        let errors = errors.clone();
        async move {
            policy()
                .retry_transaction("crossed_update", || {
                    crossed_update(&db, first, second, &barrier, &attempts, &errors)
                })
                .await
        }
    };
    let (a, b) = tokio::join!(
        writer(1, 2, attempts_a.clone()),
        writer(2, 1, attempts_b.clone())
    );
    assert!(a.is_ok(), "writer A failed: {a:?}");
    assert!(b.is_ok(), "writer B failed: {b:?}");

    let errors = errors.lock().unwrap().clone();
    assert!(!errors.is_empty(), "no deadlock happened");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, StoreError::Contention(_))),
        "a deadlock must be classified as contention: {errors:?}"
    );
    let total = attempts_a.load(Ordering::SeqCst) + attempts_b.load(Ordering::SeqCst);
    assert_eq!(
        total as usize,
        2 + errors.len(),
        "one retry per lost attempt"
    );
    // Both transactions took effect exactly once: the loser's first attempt was rolled back.
    assert_eq!(scratch.value(1).await, 2);
    assert_eq!(scratch.value(2).await, 2);
    scratch.drop_database().await;
}

#[tokio::test]
async fn errors_other_than_lock_conflicts_are_not_retried() {
    let scratch = Scratch::new().await;
    for (statement, expected) in [
        // duplicate primary key (1062)
        ("INSERT INTO locks VALUES (1, 0)", "internal"),
        // syntax error (1064)
        ("UPDATE locks SET WHERE", "internal"),
        // unknown column (1054)
        ("UPDATE locks SET nope = 1", "internal"),
    ] {
        let attempts = AtomicU32::new(0);
        let result: Result<(), StoreError> = policy()
            .retry_transaction("not_retried", || async {
                attempts.fetch_add(1, Ordering::SeqCst);
                let txn = scratch.db.begin().await.map_err(store_error)?;
                txn.execute_unprepared(statement)
                    .await
                    .map_err(store_error)?;
                txn.commit().await.map_err(store_error)
            })
            .await;
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "{statement} was retried"
        );
        match (expected, &result) {
            ("internal", Err(StoreError::Internal(_))) => {}
            _ => panic!("{statement}: expected {expected}, got {result:?}"),
        }
    }
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_lock_wait_timeout_is_retried_until_the_lock_is_released() {
    let scratch = Scratch::new().await;
    // The blocker holds row 1 for longer than the waiter's lock wait timeout (1 s), once.
    let blocker = scratch.db.begin().await.unwrap();
    blocker
        .execute_unprepared("UPDATE locks SET v = v + 10 WHERE id = 1")
        .await
        .unwrap();
    let attempts = AtomicU32::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    let policy = policy();
    let waiter = policy.retry_transaction("waiter", || async {
        attempts.fetch_add(1, Ordering::SeqCst);
        let outcome = async {
            let txn = scratch.db.begin().await.map_err(store_error)?;
            txn.execute_unprepared("SET SESSION innodb_lock_wait_timeout = 1")
                .await
                .map_err(store_error)?;
            txn.execute_unprepared("UPDATE locks SET v = v + 1 WHERE id = 1")
                .await
                .map_err(store_error)?;
            txn.commit().await.map_err(store_error)
        }
        .await;
        if let Err(err) = &outcome {
            errors.lock().unwrap().push(err.clone());
        }
        outcome
    });
    let release = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        blocker.commit().await.unwrap();
    };
    let (result, ()) = tokio::join!(waiter, release);
    assert!(result.is_ok(), "{result:?}");
    let errors = errors.into_inner().unwrap();
    assert!(!errors.is_empty(), "the waiter never timed out");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, StoreError::Contention(_))),
        "{errors:?}"
    );
    assert_eq!(scratch.value(1).await, 11);
    scratch.drop_database().await;
}
