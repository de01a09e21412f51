//! The dev-only test kit: what the test suites of every crate and xtask share. Never a
//! dependency of a product crate.
//!
//! Every external process the tests and xtask start is launched here, once: [`mariadb`],
//! [`redis`], [`nginx`] and [`server`] (the built binary), all on the start/stop/Drop mechanism
//! of [`process`], on ports from [`ports`], with TLS from [`ca`]; [`cluster`] composes them into
//! three replicas behind nginx.

pub mod ca;
pub mod cluster;
pub mod instance;
pub mod logs;
pub mod mariadb;
pub mod nginx;
pub mod ports;
pub mod process;
pub mod process_tree;
pub mod programs;
pub mod proptest_config;
pub mod redis;
pub mod server;
pub mod signals;
pub mod stores;
pub mod tls;

use std::path::{Path, PathBuf};

/// The workspace root: where the shipped configuration (`deploy/`) lives.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}
