//! Ctrl-C / SIGTERM / SIGHUP handling, for a program (xtask) that launches servers.
//!
//! Why: xtask owns mariadbd and other children whose cleanup (stop them, delete their data)
//! lives in Drop guards. The default action of these signals kills xtask on the spot, skipping
//! the guards and leaving stray servers and temp directories behind. So xtask catches them on a
//! thread, lets the foreground child (cargo test, the server) end, and returns normally. The
//! launchers' readiness waits give up when a signal has arrived. Tests install nothing: a
//! Ctrl-C ends them and their servers together.

use std::fmt;
use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::process_tree;

/// A signal xtask received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received(i32);

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Signal::try_from(self.0) {
            Ok(signal) => write!(f, "{signal}"),
            Err(_) => write!(f, "signal {}", self.0),
        }
    }
}

/// The first signal received, if any.
static RECEIVED: Mutex<Option<Received>> = Mutex::new(None);
/// Notified when `RECEIVED` is set, for `wait`.
static RECEIVED_CHANGED: Condvar = Condvar::new();
/// The pid of the child xtask is waiting for in the foreground, if any.
static FOREGROUND_CHILD: Mutex<Option<u32>> = Mutex::new(None);
/// Whether [`install`] ran: the launched servers then get process groups of their own.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Starts catching SIGINT, SIGTERM and SIGHUP. Call once, before starting any child.
pub fn install() -> Result<()> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("could not install signal handlers")?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(Received(signal));
            }
        })
        .context("could not start the signal thread")?;
    INSTALLED.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether this process catches the signals ([`install`]).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

fn on_signal(signal: Received) {
    {
        let mut received = lock(&RECEIVED);
        received.get_or_insert(signal);
        RECEIVED_CHANGED.notify_all();
    }
    // A Ctrl-C in a terminal already reaches the foreground child, which shares xtask's process
    // group; sending it a second SIGINT could turn a graceful shutdown into a forced one. A
    // SIGTERM or SIGHUP aimed at xtask alone (a CI runner, `kill PID`) does not reach the child,
    // so pass it on; otherwise xtask would wait for a child that never ends.
    if signal.0 != SIGINT
        && let Some(pid) = *lock(&FOREGROUND_CHILD)
    {
        terminate_tree(pid);
    }
}

/// The first of SIGINT, SIGTERM or SIGHUP received so far, if any.
pub fn received() -> Option<Received> {
    *lock(&RECEIVED)
}

/// Waits up to `timeout` for a signal; returns it, or None on timeout.
pub fn wait(timeout: Duration) -> Option<Received> {
    let guard = lock(&RECEIVED);
    let (guard, _timed_out) = RECEIVED_CHANGED
        .wait_timeout_while(guard, timeout, |received| received.is_none())
        .unwrap_or_else(PoisonError::into_inner);
    *guard
}

/// Spawns `command` and waits for it, registered as the child to pass SIGTERM on to.
pub fn run_in_foreground(command: &mut Command) -> Result<ExitStatus> {
    let child = spawn_foreground(command)?;
    wait_foreground(child)
}

/// Spawns `command` as the child to pass SIGTERM on to; end with [`wait_foreground`].
pub fn spawn_foreground(command: &mut Command) -> Result<Child> {
    if let Some(signal) = received() {
        bail!("interrupted by {signal}");
    }
    let child = command.spawn()?;
    *lock(&FOREGROUND_CHILD) = Some(child.id());
    // A SIGTERM that arrived between the check above and the registration was not passed on.
    if received().is_some_and(|signal| signal.0 != SIGINT) {
        terminate_tree(child.id());
    }
    Ok(child)
}

/// Waits for the child of [`spawn_foreground`] and unregisters it.
pub fn wait_foreground(mut child: Child) -> Result<ExitStatus> {
    let status = child.wait();
    *lock(&FOREGROUND_CHILD) = None;
    Ok(status?)
}

/// Sends SIGTERM to `pid` and all its descendants (see `process_tree` for why), ignoring
/// failures: they may have exited already.
fn terminate_tree(pid: u32) {
    // Looked up before signalling anyone: once `pid` exits, its children are re-parented and
    // can no longer be found.
    let descendants = process_tree::descendants(pid);
    for pid in std::iter::once(pid).chain(descendants) {
        let _ = send(pid, Signal::SIGTERM);
    }
}

/// Sends `signal` to the process `pid`.
pub fn send(pid: u32, signal: Signal) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::other(format!("pid {pid} too large")))?;
    kill(Pid::from_raw(pid), signal).map_err(io::Error::from)
}

/// Locks `mutex`, also after a panic on another thread: the data is a plain value that cannot
/// be left half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
