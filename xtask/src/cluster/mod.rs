//! `cargo xtask cluster up|test|down`: the scale-out rehearsal. The cluster itself (private
//! MariaDB and Redis, three replicas of the debug binary, nginx with TLS) is composed by
//! `testkit::cluster`; `scenarios` is the suite `test` runs on it. `up` keeps a cluster for a
//! person to try, `down` stops what a crashed `up` left running.

mod scenarios;

use std::fs;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Subcommand;
use nix::sys::signal::Signal;
use testkit::cluster::{ADMIN_PASSWORD, ADMIN_USER, Cluster, cluster_dir};

use crate::cargo::{DebugServer, debug_server};
use crate::signals;

// What `cargo xtask dev` and `cargo xtask bench` take from the cluster's composition.
pub use testkit::cluster::{
    DATABASE, Replica, admin, create_database, create_named_database, random_secret, run_sql,
};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start MariaDB, Redis, three replicas and nginx (HTTPS), and keep them until Ctrl-C.
    Up,
    /// Start a cluster, run the scenario suite over HTTPS through nginx, and tear it all down.
    Test,
    /// Stop what an `up` left running (after a crash of xtask), from target/cluster/state.
    Down,
}

pub fn run(command: &ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Up => up(),
        ClusterCommand::Test => test(DebugServer::Build),
        ClusterCommand::Down => down(),
    }
}

/// `cargo xtask cluster test` (also a step of `cargo xtask ci`).
pub fn test(server: DebugServer) -> Result<()> {
    let started = Instant::now();
    let mut cluster = Cluster::start(&debug_server(server)?)?;
    let result = scenarios::run_all(&mut cluster);
    // Stopped here rather than by Drop, to see errors; Drop covers every early return.
    let stopped = cluster.stop();
    eprintln!(
        "xtask: cluster test {} in {:.1} s (logs in {})",
        if result.is_ok() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64(),
        cluster_dir().display()
    );
    result.and(stopped)
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
