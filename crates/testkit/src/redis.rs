//! A private Redis server, started from the machine's `redis-server` and stopped on Drop.
//!
//! Why private: tests then never depend on, or damage, the machine's own Redis (port 6379) or
//! its data, and every CI run starts from an empty server. A throwaway server persists nothing
//! (`--save "" --appendonly no`) and writes every file to a temporary directory; the one of
//! `cargo xtask dev` keeps an append-only file in its own directory. A test may kill a server,
//! freeze it (SIGSTOP) and start it again on the same ports.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use tempfile::TempDir;

use crate::ca::TestCa;
use crate::instance::{self, Instance};
use crate::logs;
use crate::ports::{self, StartError};
use crate::process::{OnDrop, Process, StopWith};
use crate::programs;

/// How long a starting server may take to answer before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// SIGTERM makes redis-server shut down cleanly; SIGKILL if it takes longer than 10 s.
const STOP_WITH: StopWith = StopWith::sigterm(Duration::from_secs(10));
/// How long a readiness probe waits for the answer to its PING.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running redis-server, listening on 127.0.0.1 only, without a password.
///
/// Dropping it stops the server (SIGTERM, then SIGKILL after 10 s) and deletes its temporary
/// directory; call [`Redis::stop`] instead to see errors.
#[derive(Debug)]
pub struct Redis {
    /// The process and, for a throwaway server, its working directory, log, socket and TLS
    /// files.
    instance: Instance,
    binary: PathBuf,
    port: u16,
    /// The working directory: the socket, and the append-only file of a persistent server.
    dir: PathBuf,
    log: PathBuf,
    persistence: Persistence,
    /// A TLS listener too, with a certificate from the server's own CA.
    tls: Option<(u16, TestCa)>,
}

impl Redis {
    /// Starts a server on free ports with an empty temporary directory, listening for plain
    /// TCP and for TLS (with a certificate from a CA of its own).
    pub fn start_throwaway() -> Result<Self> {
        let runtime_dir = throwaway_dir()?;
        let tls_dir = runtime_dir.path().join("tls");
        fs::create_dir(&tls_dir)?;
        let ca = TestCa::make(&tls_dir)?;
        let binary = locate_server()?;
        ports::start_on_free_ports("Redis", 2, |ports| {
            Self::launch(
                &binary,
                runtime_dir.path(),
                ports[0],
                Some((ports[1], &ca)),
                Persistence::None,
            )
        })
        .map(|server| server.owning(runtime_dir))
    }

    /// Starts a server without TLS, on `port` or else a free one, with an empty temporary
    /// directory: a test's own, which it may kill, freeze and start again.
    pub fn start_plain(port: Option<u16>) -> Result<Self> {
        let runtime_dir = throwaway_dir()?;
        let binary = locate_server()?;
        let launch =
            |port| Self::launch(&binary, runtime_dir.path(), port, None, Persistence::None);
        let server = match port {
            Some(port) => on_port(port, launch(port))?,
            None => ports::start_on_free_ports("Redis", 1, |ports| launch(ports[0]))?,
        };
        Ok(server.owning(runtime_dir))
    }

    /// Starts a server on `port` whose data (an append-only file) lives in `dir`, created if
    /// missing, so that sessions survive a restart.
    pub fn start_persistent(dir: &Path, port: u16) -> Result<Self> {
        let binary = locate_server()?;
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        on_port(
            port,
            Self::launch(&binary, dir, port, None, Persistence::AppendOnly),
        )
    }

    fn launch(
        binary: &Path,
        dir: &Path,
        port: u16,
        tls: Option<(u16, &TestCa)>,
        persistence: Persistence,
    ) -> Result<Self, StartError> {
        let log = dir.join("redis.log");
        let listeners = Listeners { port, tls };
        let process = start(binary, dir, &log, &listeners, persistence)?;
        Ok(Self {
            instance: Instance::new(process, None),
            binary: binary.to_path_buf(),
            port,
            dir: dir.to_path_buf(),
            log,
            persistence,
            tls: tls.map(|(port, ca)| (port, ca.clone())),
        })
    }

    /// The server with its temporary directory, deleted once it has stopped.
    fn owning(mut self, runtime_dir: TempDir) -> Self {
        self.instance.own(runtime_dir);
        self
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.instance.process.pid()
    }

    /// The plain TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// For a throwaway server: `rediss://127.0.0.1:TLS_PORT/?ssl_ca_certs=CA`, the URL over
    /// TLS that trusts the server's own CA (the parameter the service's adapters read).
    pub fn tls_url(&self) -> Option<String> {
        self.tls.as_ref().map(|(port, ca)| {
            format!(
                "rediss://127.0.0.1:{port}/?ssl_ca_certs={}",
                ca.ca_certificate().display()
            )
        })
    }

    /// Fails if the server has exited on its own.
    pub fn check_running(&mut self) -> Result<()> {
        self.instance.check_running("Redis", &self.log)
    }

    /// SIGKILL: Redis vanishes at once, as in a crash; its connections are cut.
    pub fn kill(&mut self) -> Result<()> {
        self.instance.process.kill()
    }

    /// Sends `signal` to the server: SIGSTOP freezes it (connections stay open, nothing
    /// answers), SIGCONT thaws it.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        self.instance.process.signal(signal)
    }

    /// Starts it again on the same ports after [`Redis::kill`]; a throwaway server starts
    /// empty (it persists nothing).
    pub fn restart(&mut self) -> Result<()> {
        if self.instance.process.pid().is_some() {
            bail!("Redis is still running");
        }
        let listeners = Listeners {
            port: self.port,
            tls: self.tls.as_ref().map(|(port, ca)| (*port, ca)),
        };
        self.instance.process = on_port(
            self.port,
            start(
                &self.binary,
                &self.dir,
                &self.log,
                &listeners,
                self.persistence,
            ),
        )?;
        Ok(())
    }

    /// Stops the server and deletes its temporary directory, reporting any error.
    pub fn stop(mut self) -> Result<()> {
        self.instance.shutdown()
    }
}

fn throwaway_dir() -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("xtask-redis-")
        .tempdir()
        .context("could not create a temporary directory for Redis")
}

fn locate_server() -> Result<PathBuf> {
    programs::locate(&["redis-server"], "redis-server")
}

/// What started on a port the caller chose: there is no other port to retry on.
fn on_port<T>(port: u16, started: Result<T, StartError>) -> Result<T> {
    match started {
        Ok(started) => Ok(started),
        Err(StartError::PortTaken) => {
            bail!("port {port} on 127.0.0.1 is already in use; pick another one")
        }
        Err(StartError::Other(err)) => Err(err),
    }
}

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("redis.sock")
}

/// What a server keeps on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persistence {
    /// Nothing: a throwaway server for tests.
    None,
    /// Every write, in an append-only file in its directory (`cargo xtask dev`).
    AppendOnly,
}

/// Where a server listens: always plain TCP (the readiness probe's), TLS too where asked.
#[derive(Debug)]
struct Listeners<'a> {
    port: u16,
    tls: Option<(u16, &'a TestCa)>,
}

/// The server's command line: no config file, so nothing from /etc/redis applies.
fn command(
    binary: &Path,
    dir: &Path,
    log: &Path,
    listeners: &Listeners<'_>,
    persistence: Persistence,
) -> Command {
    let append_only = match persistence {
        Persistence::None => "no",
        Persistence::AppendOnly => "yes",
    };
    let mut command = Command::new(binary);
    command
        .args(["--port", &listeners.port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", append_only])
        .args(["--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log)
        // A socket of our own, to tell our server from another one that took the port.
        .arg("--unixsocket")
        .arg(socket_path(dir))
        .args(["--unixsocketperm", "700"]);
    if let Some((tls_port, ca)) = listeners.tls {
        command
            .args(["--tls-port", &tls_port.to_string()])
            .arg("--tls-cert-file")
            .arg(ca.server_certificate())
            .arg("--tls-key-file")
            .arg(ca.server_key())
            .arg("--tls-ca-cert-file")
            .arg(ca.ca_certificate())
            // Clients prove nothing with certificates; they may use a password, as in production.
            .args(["--tls-auth-clients", "no"]);
    }
    command
}

/// Starts redis-server and waits until it answers PING.
fn start(
    binary: &Path,
    dir: &Path,
    log: &Path,
    listeners: &Listeners<'_>,
    persistence: Persistence,
) -> Result<Process, StartError> {
    let mut command = command(binary, dir, log, listeners, persistence);
    // Where this attempt's part of the (appended-to) log starts.
    let log_start = logs::length(log);
    // stderr goes to the log too: errors in the arguments are printed before the log is opened.
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(logs::append(log)?);
    let mut process = Process::spawn("Redis", &mut command, STOP_WITH, OnDrop::Stop)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, listeners.port));
    let socket = socket_path(dir);
    // The socket first: it is ours alone, whereas whatever answers on the TCP port may be
    // another server that took the port first. redis-server opens the socket only after
    // binding the TCP port, and exits if that fails, so once the socket answers, the port is
    // ours too; the TCP check then proves TCP clients get in.
    let ready = process.wait_until_ready(START_TIMEOUT, || {
        (UnixStream::connect(&socket).is_ok_and(answers_ping)
            && TcpStream::connect_timeout(&address, PROBE_TIMEOUT).is_ok_and(answers_ping))
        .then_some(())
    });
    instance::started("Redis", ready, address, START_TIMEOUT, log, log_start)?;
    Ok(process)
}

/// A stream that can be given a read timeout.
trait Probe: Read + Write {
    fn limit_reads(&self, timeout: Duration) -> std::io::Result<()>;
}

impl Probe for TcpStream {
    fn limit_reads(&self, timeout: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(timeout))
    }
}

impl Probe for UnixStream {
    fn limit_reads(&self, timeout: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(timeout))
    }
}

/// Whether the server answers `PING` (as an inline command, RESP's simplest form) with
/// `+PONG`. A server still loading answers `-LOADING ...` instead, so this is readiness, not
/// just an open port.
fn answers_ping(mut stream: impl Probe) -> bool {
    if stream.limit_reads(PROBE_TIMEOUT).is_err() || stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut byte = [0_u8; 1];
    // One line, up to CRLF; a short cap since PONG is all we expect.
    while reply.len() < 256 && !reply.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => reply.push(byte[0]),
            _ => return false,
        }
    }
    is_pong(&reply)
}

fn is_pong(reply: &[u8]) -> bool {
    reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pong_is_ready() {
        assert!(is_pong(b"+PONG\r\n"));
        assert!(!is_pong(
            b"-LOADING Redis is loading the dataset in memory\r\n"
        ));
        assert!(!is_pong(b"-NOAUTH Authentication required.\r\n"));
        assert!(!is_pong(b"+PONG"));
    }

    #[test]
    fn command_binds_loopback_and_persists_nothing() {
        let dir = Path::new("/tmp/x");
        let command = command(
            Path::new("/usr/bin/redis-server"),
            dir,
            &dir.join("redis.log"),
            &Listeners {
                port: 6390,
                tls: None,
            },
            Persistence::None,
        );
        let args: Vec<String> = command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        for expected in [
            "--port 6390",
            "--bind 127.0.0.1",
            "--appendonly no",
            "--daemonize no",
            "--dir /tmp/x",
            "--logfile /tmp/x/redis.log",
        ] {
            assert!(joined.contains(expected), "{expected:?} missing: {joined}");
        }
        let save = args.iter().position(|arg| arg == "--save");
        assert_eq!(save.map(|index| args[index + 1].as_str()), Some(""));
    }

    /// Starts a real server, talks to it, stops it, and checks that nothing is left behind.
    /// Needs redis-server and openssl, as `cargo xtask ci` does.
    #[test]
    fn starts_answers_and_cleans_up() {
        let redis = Redis::start_throwaway().unwrap_or_else(|err| panic!("{err:#}"));
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, redis.port));
        let stream = TcpStream::connect(address).unwrap_or_else(|err| panic!("connect: {err}"));
        assert!(answers_ping(stream));
        let dir = redis.instance.runtime_dir().map(Path::to_path_buf);
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        assert!(
            redis
                .tls_url()
                .is_some_and(|url| url.starts_with("rediss://127.0.0.1:"))
        );
        redis.stop().unwrap_or_else(|err| panic!("{err:#}"));
        assert!(TcpStream::connect(address).is_err(), "still listening");
        assert!(
            dir.is_some_and(|dir| !dir.exists()),
            "directory left behind"
        );
    }
}
