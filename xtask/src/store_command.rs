//! `cargo xtask mariadb` and `cargo xtask redis`: a throwaway store for running `cargo test` by
//! hand, until Ctrl-C.

use std::time::Duration;

use anyhow::Result;
use testkit::mariadb::MariaDb;
use testkit::redis::Redis;
use testkit::stores::{MYSQL_URL_VAR, REDIS_URL_VAR};

use crate::signals;

/// `cargo xtask mariadb`.
pub fn run_mariadb() -> Result<()> {
    let mut mariadb = MariaDb::start_throwaway()?;
    eprintln!("xtask: MariaDB {} is running", mariadb.server_version());
    // Over TLS with the server's CA, as `cargo xtask ci` runs the tests.
    let url = mariadb.tls_url().unwrap_or_else(|| mariadb.url());
    hold("MariaDB", MYSQL_URL_VAR, &url, || mariadb.check_running())?;
    mariadb.stop()
}

/// `cargo xtask redis`.
pub fn run_redis() -> Result<()> {
    let mut redis = Redis::start_throwaway()?;
    eprintln!("xtask: Redis is running");
    // Over TLS with the server's CA, as `cargo xtask ci` runs the tests.
    let url = redis.tls_url().unwrap_or_else(|| redis.url());
    hold("Redis", REDIS_URL_VAR, &url, || redis.check_running())?;
    redis.stop()
}

/// Prints the store's URL and export line, then waits for a signal, failing if the store dies.
fn hold(
    name: &str,
    variable: &str,
    url: &str,
    mut check_running: impl FnMut() -> Result<()>,
) -> Result<()> {
    // The URL and export line on stdout, everything else on stderr, so a script can read them.
    println!("{url}");
    println!("export {variable}='{url}'");
    eprintln!("xtask: press Ctrl-C to stop it; its data is deleted then.");
    // Half-second waits so that a server that dies on its own is reported, not waited on forever.
    let signal = loop {
        if let Some(signal) = signals::wait(Duration::from_millis(500)) {
            break signal;
        }
        check_running()?;
    };
    eprintln!("xtask: {signal} received; stopping {name}");
    Ok(())
}
