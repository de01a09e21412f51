//! The load generators and the chart's font: wrk and fonts-dejavu-core from Debian (installed by
//! the preflight), oha built from crates.io into `target/tools` (inside the clone, nothing cached
//! elsewhere; about four minutes the first time). oha 1.16 does not build without its default
//! TLS feature, so it is built as published.

use std::path::PathBuf;

use anyhow::Result;

use crate::cargo::{cargo_install, workspace_root};

const OHA_VERSION: &str = "1.16.0";

#[derive(Debug)]
pub struct Tools {
    pub oha: PathBuf,
}

/// oha, built when missing; wrk and the font are the preflight's (`preflight::BENCH`).
pub fn ensure() -> Result<Tools> {
    let root = workspace_root().join("target").join("tools");
    let oha = root.join("bin").join("oha");
    if !oha.is_file() {
        eprintln!(
            "xtask: bench: building oha {OHA_VERSION} into {}",
            root.display()
        );
        cargo_install("oha", OHA_VERSION, &root)?;
    }
    Ok(Tools { oha })
}
