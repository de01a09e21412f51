//! A launched store server together with the temporary directory it works in.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use crate::logs;
use crate::ports::StartError;
use crate::process::{NotReady, Process};

/// A server process and its temporary directory (data, log, socket, TLS files), deleted once
/// the server has stopped. Dropping it stops the server; [`Instance::shutdown`] reports errors.
#[derive(Debug)]
pub struct Instance {
    pub process: Process,
    runtime_dir: Option<TempDir>,
}

impl Instance {
    /// `process`, owning `runtime_dir` (None for a server whose files persist).
    pub fn new(process: Process, runtime_dir: Option<TempDir>) -> Self {
        Self {
            process,
            runtime_dir,
        }
    }

    /// Hands `runtime_dir` over, to be deleted once the server has stopped.
    pub fn own(&mut self, runtime_dir: TempDir) {
        self.runtime_dir = Some(runtime_dir);
    }

    /// The temporary directory, until it is deleted.
    pub fn runtime_dir(&self) -> Option<&Path> {
        self.runtime_dir.as_ref().map(TempDir::path)
    }

    /// Fails if the server (`name`, logging to `log`) has exited on its own.
    pub fn check_running(&mut self, name: &str, log: &Path) -> Result<()> {
        if let Some(status) = self.process.exited()? {
            bail!(
                "{name} exited unexpectedly ({status}); end of {}:\n{}",
                log.display(),
                logs::tail(log)
            );
        }
        Ok(())
    }

    /// Stops the server, then deletes its temporary directory.
    pub fn shutdown(&mut self) -> Result<()> {
        let stopped = self.process.stop().map(drop);
        // Only now that the server is gone: deleting files under a running server could make it
        // crash noisily instead of shutting down.
        let removed = match self.runtime_dir.take() {
            Some(dir) => {
                let path = dir.path().to_path_buf();
                dir.close()
                    .with_context(|| format!("could not delete {}", path.display()))
            }
            None => Ok(()),
        };
        stopped.and(removed)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            eprintln!("testkit: warning: {err:#}");
        }
    }
}

/// What the readiness wait of store `name` (listening on `address`, logging to `log`, whose
/// part for this attempt starts at `log_start`) means for its start: ready; a port another
/// process took, as the log says, to retry on another; or an error with the end of the log.
pub fn started<T>(
    name: &str,
    ready: Result<T, NotReady>,
    address: SocketAddr,
    timeout: Duration,
    log: &Path,
    log_start: u64,
) -> Result<T, StartError> {
    match ready {
        Ok(ready) => Ok(ready),
        // MariaDB: "Can't start server: Bind on TCP/IP port. Got error: 98: Address already in
        // use"; Redis: "Could not create server TCP listening socket 127.0.0.1:PORT: bind:
        // Address already in use".
        Err(NotReady::Exited(_))
            if logs::since(log, log_start).contains("Address already in use") =>
        {
            Err(StartError::PortTaken)
        }
        Err(NotReady::Exited(status)) => Err(anyhow!(
            "{name} exited during startup ({status}); end of {}:\n{}",
            log.display(),
            logs::tail(log)
        )
        .into()),
        Err(NotReady::Interrupted(signal)) => {
            Err(anyhow!("interrupted by {signal} while {name} was starting").into())
        }
        Err(NotReady::TimedOut) => Err(anyhow!(
            "{name} did not answer on {address} within {} s; end of {}:\n{}",
            timeout.as_secs(),
            log.display(),
            logs::tail(log)
        )
        .into()),
        Err(NotReady::Failed(err)) => Err(err.into()),
    }
}
