//! The SQL stores' contract runs each case twice: on SQLite (a temporary file) and on MariaDB/MySQL
//! (a database with a random name on the server whose URL `cargo xtask ci` passes in
//! `ORDER_MANAGER_TEST_MYSQL_URL`).

use std::future::Future;

use adapters::sql::{DatabaseSettings, connect};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};

fn settings(url: String) -> DatabaseSettings {
    DatabaseSettings {
        url,
        max_connections: 4,
        acquire_timeout: std::time::Duration::from_secs(10),
    }
}

async fn migrated(url: String) -> DatabaseConnection {
    let db = connect(&settings(url)).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

/// Runs `case` on stores that `build` makes from a fresh, migrated SQLite file.
pub async fn with_sqlite<S, F, Fut>(build: fn(&DatabaseConnection) -> S, case: F)
where
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    case(build(&migrated(url).await)).await;
}

/// Runs `case` on stores that `build` makes from a fresh, migrated MySQL database, dropped after.
pub async fn with_mysql<S, F, Fut>(build: fn(&DatabaseConnection) -> S, case: F)
where
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = testkit::stores::mysql_server_url();
    let name = format!("om_test_{}", uuid::Uuid::new_v4().simple());
    let admin = connect(&settings(server.clone()))
        .await
        .expect("connect to MySQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
        .await
        .expect("create test database");
    let db = migrated(testkit::stores::database_url(&server, &name)).await;
    case(build(&db)).await;
    db.close().await.ok();
    admin
        .execute_unprepared(&format!("DROP DATABASE `{name}`"))
        .await
        .expect("drop test database");
}

/// One `#[tokio::test]` per case and backend: `contract!(build_fn; case_a, case_b)`, where the
/// cases live in a module `cases` next to the call.
#[macro_export]
macro_rules! contract {
    ($build:path; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    $crate::support::databases::with_sqlite($build, super::cases::$case).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test]
                async fn $case() {
                    $crate::support::databases::with_mysql($build, super::cases::$case).await;
                }
            )*
        }
    };
}
