//! `cargo xtask mariadb`: a throwaway MariaDB for running `cargo test` by hand.

use std::time::Duration;

use anyhow::Result;

use crate::ci::TEST_MYSQL_URL_VAR;
use crate::mariadb::MariaDb;
use crate::signals;

pub fn run() -> Result<()> {
    let mut mariadb = MariaDb::start_throwaway()?;
    // The URL and export line on stdout, everything else on stderr, so a script can read them.
    eprintln!("xtask: MariaDB {} is running", mariadb.server_version());
    // Over TLS with the server's CA, as `cargo xtask ci` runs the tests.
    let url = mariadb.tls_url().unwrap_or_else(|| mariadb.url());
    println!("{url}");
    println!("export {TEST_MYSQL_URL_VAR}='{url}'");
    eprintln!("xtask: press Ctrl-C to stop it; its data is deleted then.");

    // Half-second waits so that a server that dies on its own is reported, not waited on forever.
    let signal = loop {
        if let Some(signal) = signals::wait(Duration::from_millis(500)) {
            break signal;
        }
        mariadb.check_running()?;
    };
    eprintln!("xtask: {signal} received; stopping MariaDB");
    mariadb.stop()
}
