//! The binary's connections to MySQL and Redis are verified TLS: `cargo xtask ci` gives URLs
//! naming the servers' own CA (every other test in this suite runs over them); the same URLs
//! naming a CA that did not sign the servers' certificates are refused, with errors that say so.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use testkit::stores::{mysql_database_url, redis_url, with_query_parameter};
use testkit::tls::write_unrelated_ca;

use crate::binary::{BINARY, start};

#[test]
fn mysql_behind_a_certificate_of_another_ca_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ca = write_unrelated_ca(dir.path()).unwrap();
    // A database that is never created: the handshake fails before any statement.
    let url = with_query_parameter(&mysql_database_url("om_never_created"), "ssl-ca", &ca);
    let output = Command::new(BINARY)
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
}

/// Redis may come up after the service, so a refused Redis does not stop it: it is not ready,
/// and the log says why.
#[tokio::test]
async fn redis_behind_a_certificate_of_another_ca_keeps_the_service_unready_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let ca = write_unrelated_ca(dir.path()).unwrap();
    let url = with_query_parameter(&redis_url(), "ssl_ca_certs", &ca);
    let server = start(dir.path(), &[], &[("REDIS_URL", &url)]);
    let client = crate::helpers::client_builder().build().unwrap();
    let response = client
        .get(format!("{}/readyz", server.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("redis"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = server.logs().join("\n");
        if logs.contains("certificate") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no certificate error logged:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Redis CA file that cannot be read stops the service at start: that never heals by itself.
#[test]
fn a_missing_redis_ca_file_stops_the_service_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = with_query_parameter(&redis_url(), "ssl_ca_certs", "/nonexistent/ca.pem");
    let output = Command::new(BINARY)
        .current_dir(dir.path())
        .args(["--bind", "127.0.0.1:0", "--metrics-bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env("REDIS_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the Redis CA file /nonexistent/ca.pem"),
        "{stderr}"
    );
}
