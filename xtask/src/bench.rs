//! `cargo xtask bench [--quick]`: the tools and the builds, then `order-manager-bench run`
//! (crates/bench/src/run/), which starts the stores and the server, measures and writes the
//! report.
//!
//! The load generators and the chart's font: wrk and fonts-dejavu-core from Debian (installed by
//! the preflight), oha built from crates.io into `target/tools` (inside the clone, nothing cached
//! elsewhere; about four minutes the first time). oha 1.16 does not build without its default
//! TLS feature, so it is built as published.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::cargo::{
    DebugServer, cargo, cargo_install, debug_server, run_inherited, workspace_root,
};

const OHA_VERSION: &str = "1.16.0";

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A smoke test of the harness (under 5 minutes once built): a 100K-item store, fewer and
    /// shorter runs. Its figures are not the ones to publish.
    #[arg(long)]
    pub quick: bool,
    /// Measure the debug build instead of building release. Only to exercise the harness:
    /// debug figures mean nothing.
    #[arg(long)]
    pub dev_build: bool,
    /// `NAME=VALUE` set in the server's environment over the bench's own settings, to compare
    /// variants (e.g. `ORDER_MANAGER_WRITE_GROUP_MAX_REQUESTS=1`); repeatable.
    #[arg(long = "server-env", value_name = "NAME=VALUE")]
    pub server_env: Vec<String>,
}

/// oha, built when missing (wrk and the font are the preflight's, `preflight::BENCH`); CI runs
/// it as a step of its own so that the time of the smoke run is the harness's, not oha's
/// first build.
pub fn ensure_tools() -> Result<PathBuf> {
    let root = workspace_root().join("target").join("tools");
    let oha = root.join("bin").join("oha");
    if !oha.is_file() {
        eprintln!(
            "xtask: bench: building oha {OHA_VERSION} into {}",
            root.display()
        );
        cargo_install("oha", OHA_VERSION, &root)?;
    }
    Ok(oha)
}

/// Builds what `args` measures (`server` says how to get the debug server of `--dev-build`)
/// and the harness, and runs it.
pub fn run(args: &BenchArgs, server: DebugServer) -> Result<()> {
    let oha = ensure_tools()?;
    let target = workspace_root().join("target");
    let (server_binary, profile) = if args.dev_build {
        run_inherited(&mut cargo(["build", "-p", "order-manager-bench"]))?;
        (debug_server(server)?, "debug")
    } else {
        run_inherited(&mut cargo([
            "build",
            "--release",
            "-p",
            "order-manager-server",
            "-p",
            "order-manager-bench",
        ]))?;
        (target.join("release").join("order-manager"), "release")
    };
    let mut harness = Command::new(target.join(profile).join("order-manager-bench"));
    harness
        .arg("run")
        .arg("--server-binary")
        .arg(server_binary)
        .arg("--oha")
        .arg(oha)
        .arg("--out-dir")
        .arg(target.join("bench"))
        .arg("--docs-dir")
        .arg(workspace_root().join("docs"));
    if args.quick {
        harness.arg("--quick");
    }
    if args.dev_build {
        harness.arg("--dev-build");
    }
    for setting in &args.server_env {
        harness.arg("--server-env").arg(setting);
    }
    run_inherited(&mut harness)
}
