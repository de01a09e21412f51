//! `cargo xtask cluster up|test|down`: the scale-out rehearsal. The cluster itself (private
//! MariaDB and Redis, three replicas of the debug binary, nginx with TLS) is composed by
//! `testkit::cluster`; its scenarios are the `cluster_scenarios` tests of the end-to-end suite
//! (`crates/server/tests/e2e`). `up` keeps a cluster for a person to try, `test` runs the
//! scenarios, `down` stops what a crashed `up` left running.

use std::fs;
use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use nix::sys::signal::Signal;
use testkit::cluster::{ADMIN_PASSWORD, ADMIN_USER, Cluster, cluster_dir};

use crate::cargo::{DebugServer, debug_server};
use crate::signals;

// What `cargo xtask dev` takes from the cluster's composition.
pub use testkit::cluster::{DATABASE, admin, random_secret};

/// The end-to-end tests of the cluster scenarios.
const SCENARIOS: &str = "test(/^cluster_scenarios::/)";

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start MariaDB, Redis, three replicas and nginx (HTTPS), and keep them until Ctrl-C.
    Up,
    /// Run the cluster scenarios of the end-to-end suite (each starts and tears down its cluster).
    Test,
    /// Stop what an `up` left running (after a crash of xtask), from target/cluster/state.
    Down,
}

pub fn run(command: &ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Up => up(),
        ClusterCommand::Test => crate::cargo::run_e2e(SCENARIOS),
        ClusterCommand::Down => down(),
    }
}

fn up() -> Result<()> {
    let cluster = Cluster::start(&debug_server(DebugServer::Build)?)?;
    eprintln!(
        "xtask: cluster up: https://127.0.0.1:{} (CA certificate {}), replicas {}; user `{ADMIN_USER}`, \
         password `{ADMIN_PASSWORD}`. Ctrl-C stops everything.",
        cluster.nginx.port,
        cluster.nginx.dir.join("ca.crt").display(),
        cluster
            .replicas
            .iter()
            .map(|replica| replica.base())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let signal = loop {
        if let Some(signal) = signals::wait(Duration::from_secs(3600)) {
            break signal;
        }
    };
    eprintln!("xtask: {signal}: stopping the cluster");
    cluster.stop()
}

/// Stops the processes recorded by an `up` whose xtask died without its Drop guards running.
fn down() -> Result<()> {
    let state = cluster_dir().join("state");
    let Ok(text) = fs::read_to_string(&state) else {
        eprintln!(
            "xtask: no cluster state in {}: nothing to stop",
            state.display()
        );
        return Ok(());
    };
    for line in text.lines() {
        let Some((name, pid)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        // Only a process that is still the one recorded (pids are reused).
        let command = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !command.contains(name) {
            continue;
        }
        eprintln!("xtask: stopping {name} (pid {pid})");
        let _ = signals::send(pid, Signal::SIGTERM);
    }
    fs::remove_file(&state).ok();
    Ok(())
}
