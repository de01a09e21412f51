//! The processes of a dev stack, recorded in pid files so that the next `cargo xtask dev` finds
//! what a crashed (SIGKILLed, closed terminal) run left behind and stops it, instead of failing
//! on a taken port or, worse, running a second server against the same data directory.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

use crate::signals;

/// How long a leftover may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// One process of the stack: its pid file in the dev directory, and the name the kernel shows
/// for it (`/proc/PID/comm`), which tells it from an unrelated process that reused the pid.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    pub file: &'static str,
    pub comm: &'static str,
}

pub const MARIADB: Role = Role {
    file: "mariadb.pid",
    comm: "mariadbd",
};
pub const REDIS: Role = Role {
    file: "redis.pid",
    comm: "redis-server",
};
pub const SERVER: Role = Role {
    file: "server.pid",
    comm: "order-manager",
};

/// Every role, in the order leftovers are stopped: the server before its stores.
pub const ALL: [Role; 3] = [SERVER, REDIS, MARIADB];

/// Records that `pid` plays `role` until [`forget`].
pub fn record(dir: &Path, role: Role, pid: u32) -> Result<()> {
    let path = dir.join(role.file);
    fs::write(&path, format!("{pid}\n")).with_context(|| format!("cannot write {}", path.display()))
}

/// Removes the record of `role` once its process has stopped.
pub fn forget(dir: &Path, role: Role) {
    let _ = fs::remove_file(dir.join(role.file));
}

/// Stops every process an earlier run recorded that is still running, and clears the records.
pub fn stop_all(dir: &Path) -> Result<()> {
    for role in ALL {
        let path = dir.join(role.file);
        if let Some(pid) = running(&path, role) {
            eprintln!(
                "xtask: stopping {} (pid {pid}), left running by an earlier `cargo xtask dev`",
                role.comm
            );
            stop(pid, role)?;
        }
        let _ = fs::remove_file(&path);
    }
    Ok(())
}

/// The recorded pid, if that process is alive and still the one recorded.
fn running(path: &Path, role: Role) -> Option<u32> {
    let pid: u32 = fs::read_to_string(path).ok()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    // The kernel cuts names to 15 bytes (`order-manager` fits; so do the others).
    (comm.trim_end() == role.comm).then_some(pid)
}

/// SIGTERM (each server shuts down cleanly on it), SIGKILL after [`STOP_TIMEOUT`].
fn stop(pid: u32, role: Role) -> Result<()> {
    signals::send(pid, Signal::SIGTERM)
        .with_context(|| format!("cannot send SIGTERM to {} (pid {pid})", role.comm))?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if !alive(pid) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "xtask: {} (pid {pid}) ignored SIGTERM; killing it",
        role.comm
    );
    let _ = signals::send(pid, Signal::SIGKILL);
    Ok(())
}

/// Whether `pid` is a process that has not exited (a zombie has exited: its parent is gone or
/// has yet to reap it, and it holds no port or file any more).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised name, which may itself contain spaces.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
