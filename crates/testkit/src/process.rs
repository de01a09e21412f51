//! The one start/stop/Drop mechanism of every launcher: a child process that is stopped (or
//! killed) when its guard is dropped, a readiness wait that gives up when the child exits, a
//! signal arrives or time runs out, and a graceful stop that kills after a timeout.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
pub use nix::sys::signal::Signal;

use crate::signals::{self, Received};

/// How often a waiting loop looks at the child again.
const POLL: Duration = Duration::from_millis(20);

/// How a child is asked to stop, and how long it may take before it is killed.
#[derive(Debug, Clone, Copy)]
pub struct StopWith {
    pub signal: Signal,
    pub timeout: Duration,
}

impl StopWith {
    /// SIGTERM, the graceful stop of mariadbd, redis-server and order-manager.
    pub const fn sigterm(timeout: Duration) -> Self {
        Self {
            signal: Signal::SIGTERM,
            timeout,
        }
    }
}

/// What dropping the guard of a running child does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDrop {
    /// [`Process::stop`]: the graceful way, for servers whose data a test or xtask cleans up.
    Stop,
    /// SIGKILL at once: a test's server whose end nobody waits for.
    Kill,
}

/// How a graceful stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited (on its own or on the stop signal) with this status.
    Exited(ExitStatus),
    /// It outlived the stop timeout and was killed.
    Killed,
}

/// Why a child never became ready.
#[derive(Debug)]
pub enum NotReady {
    /// It exited first, with this status (it has been reaped).
    Exited(ExitStatus),
    /// xtask received this signal while waiting; the child has been stopped.
    Interrupted(Received),
    /// Time ran out; the child has been stopped.
    TimedOut,
    /// Waiting for it failed.
    Failed(anyhow::Error),
}

/// A launched child process, named for messages, stopped or killed on Drop.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Option<Child>,
    stop_with: StopWith,
    on_drop: OnDrop,
}

impl Process {
    /// Spawns `command` as `name`.
    ///
    /// Under xtask (which catches Ctrl-C, see [`signals`]) the child gets its own process group:
    /// a Ctrl-C in the terminal then reaches xtask and the tests, not the server, which xtask
    /// stops last, after the tests have ended. In a test, which catches nothing, it shares the
    /// test's group, so that a Ctrl-C ends it with the test.
    pub fn spawn(
        name: &str,
        command: &mut Command,
        stop_with: StopWith,
        on_drop: OnDrop,
    ) -> Result<Self> {
        if signals::installed() {
            command.process_group(0);
        }
        let child = command
            .spawn()
            .with_context(|| format!("could not start {}", command.get_program().display()))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            stop_with,
            on_drop,
        })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The child itself, for its pipes.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Its exit status if it has exited on its own (it is reaped then), None while it runs.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let status = child
            .try_wait()
            .with_context(|| format!("could not wait for {}", self.name))?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }

    /// Sends `signal` (say, SIGSTOP to freeze a server) to the running child.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let pid = self
            .pid()
            .with_context(|| format!("{} is not running", self.name))?;
        signals::send(pid, signal)
            .with_context(|| format!("could not send {signal} to {}", self.name))
    }

    /// SIGKILL, as in a crash, and reaps it.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child
                .kill()
                .with_context(|| format!("could not kill {}", self.name))?;
            child.wait()?;
        }
        Ok(())
    }

    /// The stop signal, then SIGKILL if it outlives the timeout; None if it was not running.
    pub fn stop(&mut self) -> Result<Option<Stopped>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(Some(Stopped::Exited(status)));
        }
        let signal = self.stop_with.signal;
        // A frozen child (a test's SIGSTOP) would leave the stop signal pending until the
        // timeout: thawed first, it stops at once.
        let _ = signals::send(child.id(), Signal::SIGCONT);
        if let Err(err) = signals::send(child.id(), signal) {
            // Reaped below either way: a child that cannot be signalled is killed.
            let _ = child.kill();
            let _ = child.wait();
            return Err(err).with_context(|| format!("could not send {signal} to {}", self.name));
        }
        let deadline = Instant::now() + self.stop_with.timeout;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(Some(Stopped::Exited(status)));
            }
            thread::sleep(POLL);
        }
        eprintln!(
            "testkit: {} did not stop within {} s; killing it",
            self.name,
            self.stop_with.timeout.as_secs()
        );
        child
            .kill()
            .with_context(|| format!("could not kill {}", self.name))?;
        child
            .wait()
            .with_context(|| format!("could not wait for {}", self.name))?;
        Ok(Some(Stopped::Killed))
    }

    /// Polls `probe` until it answers, the child exits, a signal arrives (xtask) or `timeout`
    /// passes; a child still running when this gives up is stopped.
    pub fn wait_until_ready<T>(
        &mut self,
        timeout: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> Result<T, NotReady> {
        let started = Instant::now();
        let not_ready = loop {
            match self.exited() {
                Ok(Some(status)) => return Err(NotReady::Exited(status)),
                Ok(None) => {}
                Err(err) => break NotReady::Failed(err),
            }
            if let Some(signal) = signals::received() {
                break NotReady::Interrupted(signal);
            }
            if let Some(ready) = probe() {
                return Ok(ready);
            }
            if started.elapsed() > timeout {
                break NotReady::TimedOut;
            }
            thread::sleep(POLL);
        };
        if let Err(err) = self.stop() {
            eprintln!("testkit: warning: {err:#}");
        }
        Err(not_ready)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let stopped = match self.on_drop {
            OnDrop::Stop => self.stop().map(drop),
            OnDrop::Kill => self.kill(),
        };
        if let Err(err) = stopped {
            eprintln!("testkit: warning: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(on_drop: OnDrop) -> Process {
        Process::spawn(
            "sleep",
            Command::new("sleep").arg("30"),
            StopWith {
                signal: Signal::SIGTERM,
                timeout: Duration::from_secs(5),
            },
            on_drop,
        )
        .unwrap_or_else(|err| panic!("{err:#}"))
    }

    #[test]
    fn stop_ends_a_child_with_its_signal() {
        let mut process = sleeper(OnDrop::Stop);
        assert!(process.pid().is_some());
        let stopped = process.stop().unwrap_or_else(|err| panic!("{err:#}"));
        assert!(matches!(stopped, Some(Stopped::Exited(status)) if !status.success()));
        assert!(process.pid().is_none());
        assert!(matches!(process.stop(), Ok(None)));
    }

    #[test]
    fn readiness_gives_up_on_time_and_stops_the_child() {
        let mut process = sleeper(OnDrop::Kill);
        let waited = process.wait_until_ready(Duration::from_millis(100), || None::<()>);
        assert!(matches!(waited, Err(NotReady::TimedOut)));
        assert!(process.pid().is_none());
    }
}
