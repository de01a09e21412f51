//! The stores over TLS, against the private MariaDB and Redis of `cargo xtask ci`, which offer
//! TLS with a certificate from a CA of their own and whose URLs name that CA: the connection is
//! encrypted and verified, and the same URL naming another CA is refused with an error that
//! says why.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use std::time::Duration;

use adapters::redis::{RedisSessionStore, RedisSettings};
use adapters::sql::{DatabaseSettings, connect};
use application::ports::SessionStore;
use sea_orm::{ConnectionTrait, Statement};
use testkit::stores::{mysql_server_url, redis_url, with_query_parameter};
use testkit::tls::write_unrelated_ca;

fn database(url: String) -> DatabaseSettings {
    DatabaseSettings {
        url,
        max_connections: 1,
        acquire_timeout: Duration::from_secs(10),
    }
}

fn redis_store(url: String) -> RedisSessionStore {
    RedisSessionStore::connect(&RedisSettings {
        url,
        pool_size: 1,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn mysql_is_reached_over_verified_tls() {
    let url = mysql_server_url();
    assert!(
        url.contains("ssl-mode=VERIFY_IDENTITY"),
        "the test MySQL URL must verify the server: {url}"
    );
    let db = connect(&database(url)).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SHOW SESSION STATUS LIKE 'Ssl_version'",
        ))
        .await
        .unwrap()
        .unwrap();
    let version: String = row.try_get_by_index(1).unwrap();
    assert!(version.starts_with("TLSv1."), "Ssl_version = {version:?}");
}

#[tokio::test]
async fn mysql_with_another_ca_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = with_query_parameter(
        &mysql_server_url(),
        "ssl-ca",
        &write_unrelated_ca(dir.path()).unwrap(),
    );
    let err = connect(&database(wrong)).await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn redis_is_reached_over_tls_with_its_ca() {
    let url = redis_url();
    assert!(url.starts_with("rediss://"), "not TLS: {url}");
    let store = redis_store(url);
    store.ping().await.unwrap();
}

#[tokio::test]
async fn redis_with_another_ca_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = with_query_parameter(
        &redis_url(),
        adapters::redis::CA_FILE_PARAMETER,
        &write_unrelated_ca(dir.path()).unwrap(),
    );
    let err = redis_store(wrong).ping().await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");
}
