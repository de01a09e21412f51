//! The built `order-manager` binary, serving. The binary's path comes from the caller: a test
//! passes `env!("CARGO_BIN_EXE_order-manager")`, xtask the build it made.
//!
//! Two ways to learn it is ready: a port chosen beforehand and polled over HTTP (`/healthz`,
//! `/readyz`), with the log in a file; or port 0 and the `listening` line of its JSON log, read
//! from stdout and kept in memory for the test to inspect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::logs;
use crate::process::{NotReady, OnDrop, Process, StopWith, Stopped};

/// How a server says it is ready.
#[derive(Debug, Clone)]
pub enum Ready {
    /// `GET path` on 127.0.0.1:`port` answers 200 within `timeout`; stdout and stderr are
    /// appended to `log`.
    Http {
        port: u16,
        path: &'static str,
        timeout: Duration,
        log: PathBuf,
    },
    /// Its JSON log (on stdout, kept in memory; stderr inherited) says `listening`, with the
    /// ports it bound: for a server told to bind port 0.
    ListeningLine,
}

/// What to run: `binary` with `args` and `env`.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Variables of the caller's environment the server must not see.
    pub env_remove: Vec<String>,
    /// Only `env` and PATH, nothing else of the caller's environment.
    pub env_clear: bool,
    pub current_dir: Option<PathBuf>,
    pub ready: Ready,
    /// How long [`Server::terminate`] waits after SIGTERM before it kills.
    pub stop_timeout: Duration,
    pub on_drop: OnDrop,
}

impl Launch {
    /// `binary` with nothing set: readiness from its JSON log, killed on Drop.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            env_clear: false,
            current_dir: None,
            ready: Ready::ListeningLine,
            stop_timeout: Duration::from_secs(10),
            on_drop: OnDrop::Kill,
        }
    }

    fn command(&self) -> Result<Command> {
        let mut command = Command::new(&self.binary);
        command.args(&self.args);
        if self.env_clear {
            command
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        }
        for name in &self.env_remove {
            command.env_remove(name);
        }
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command.stdin(Stdio::null());
        match &self.ready {
            Ready::Http { log, .. } => {
                let file = logs::append(log)?;
                command.stdout(file.try_clone()?).stderr(file);
            }
            Ready::ListeningLine => {
                command.stdout(Stdio::piped()).stderr(Stdio::inherit());
            }
        }
        Ok(command)
    }
}

/// A running server, stopped or killed on Drop as its [`Launch`] says.
#[derive(Debug)]
pub struct Server {
    launch: Launch,
    process: Process,
    port: u16,
    metrics_port: Option<u16>,
    /// Every line of its JSON log so far, with [`Ready::ListeningLine`].
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server and waits until it is ready.
    pub fn start(launch: Launch) -> Result<Self> {
        let (process, port, metrics_port, logs) = spawn(&launch)?;
        Ok(Self {
            launch,
            process,
            port,
            metrics_port,
            logs,
        })
    }

    /// The HTTP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT` of the metrics listener, where the JSON log named it.
    pub fn metrics(&self) -> Option<String> {
        self.metrics_port
            .map(|port| format!("http://127.0.0.1:{port}"))
    }

    /// The lines of its JSON log so far (with [`Ready::ListeningLine`]).
    pub fn logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Sends `signal` (SIGTERM to start a graceful shutdown without waiting for it).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        self.process.signal(signal)
    }

    /// Waits up to `timeout` for it to exit (after [`Server::signal`]).
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.exited()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("the server did not exit within {} s", timeout.as_secs());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as in a crash: in-flight requests and connections are cut.
    pub fn kill(&mut self) -> Result<()> {
        self.process.kill()
    }

    /// SIGTERM and wait for the graceful exit (readiness 503, drain delay, listener closed,
    /// in-flight requests finished); SIGKILL after the stop timeout, which is an error, as is
    /// an unsuccessful exit.
    pub fn terminate(&mut self) -> Result<()> {
        match self.process.stop()? {
            None => Ok(()),
            Some(Stopped::Exited(status)) if status.success() => Ok(()),
            Some(Stopped::Exited(status)) => {
                bail!("{} exited with {status} after SIGTERM", self.name())
            }
            Some(Stopped::Killed) => bail!(
                "{} did not stop within {} s of SIGTERM",
                self.name(),
                self.launch.stop_timeout.as_secs()
            ),
        }
    }

    /// Starts it again, as launched (the same port, when one was chosen), and waits until
    /// ready.
    pub fn restart(&mut self) -> Result<()> {
        if self.process.pid().is_some() {
            bail!("{} is already running", self.name());
        }
        let (process, port, metrics_port, logs) = spawn(&self.launch)?;
        self.process = process;
        self.port = port;
        self.metrics_port = metrics_port;
        self.logs = logs;
        Ok(())
    }

    fn name(&self) -> String {
        format!("order-manager on port {}", self.port)
    }
}

type Spawned = (Process, u16, Option<u16>, Arc<Mutex<Vec<String>>>);

fn spawn(launch: &Launch) -> Result<Spawned> {
    let stop_with = StopWith::sigterm(launch.stop_timeout);
    let mut command = launch.command()?;
    let mut process = Process::spawn("order-manager", &mut command, stop_with, launch.on_drop)?;
    let logs = Arc::new(Mutex::new(Vec::new()));
    match &launch.ready {
        Ready::Http {
            port,
            path,
            timeout,
            log,
        } => {
            let ready = process.wait_until_ready(*timeout, || {
                (status(*port, path) == Some(200)).then_some(())
            });
            match ready {
                Ok(()) => Ok((process, *port, None, logs)),
                Err(NotReady::Exited(status)) => bail!(
                    "order-manager exited at start ({status}); see {}:\n{}",
                    log.display(),
                    logs::tail(log)
                ),
                Err(NotReady::Interrupted(signal)) => bail!("interrupted by {signal}"),
                Err(NotReady::TimedOut) => bail!(
                    "order-manager did not answer GET {path} on port {port} within {} s; see {}",
                    timeout.as_secs(),
                    log.display()
                ),
                Err(NotReady::Failed(err)) => Err(err),
            }
        }
        Ready::ListeningLine => {
            let stdout = process
                .child_mut()
                .and_then(|child| child.stdout.take())
                .context("the server's stdout is not piped")?;
            let mut lines = BufReader::new(stdout).lines();
            let (port, metrics_port) = loop {
                let line = lines
                    .next()
                    .ok_or_else(|| anyhow!("the server exited before listening"))??;
                if let Some(ports) = listening_ports(&line) {
                    break ports;
                }
            };
            // Keep draining the log so that the server never blocks on a full pipe.
            let sink = logs.clone();
            thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(line);
                }
            });
            Ok((process, port, Some(metrics_port), logs))
        }
    }
}

/// The ports of the JSON log line `{"message":"listening","port":..,"metrics_port":..}`.
fn listening_ports(line: &str) -> Option<(u16, u16)> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if entry["message"] != "listening" {
        return None;
    }
    let port = |key: &str| {
        entry[key]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
    };
    Some((port("port")?, port("metrics_port")?))
}

/// The status of `GET path` on 127.0.0.1:`port`, over plain HTTP/1.1; None if nothing answers.
pub fn status(port: u16, path: &str) -> Option<u16> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_names_both_ports() {
        assert_eq!(
            listening_ports(r#"{"message":"listening","port":8080,"metrics_port":9090}"#),
            Some((8080, 9090))
        );
        assert_eq!(listening_ports(r#"{"message":"starting"}"#), None);
        assert_eq!(listening_ports("not json"), None);
    }
}
