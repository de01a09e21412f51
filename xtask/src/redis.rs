//! A private Redis server, started from the machine's `redis-server` and stopped on Drop; and
//! `cargo xtask redis`, which keeps one running for `cargo test` by hand.
//!
//! Why private: tests then never depend on, or damage, the machine's own Redis (port 6379) or
//! its data, and every CI run starts from an empty server. A throwaway server persists nothing
//! (`--save "" --appendonly no`) and writes every file to a temporary directory; the one of
//! `cargo xtask dev` keeps an append-only file in its own directory.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::Signal;
use tempfile::TempDir;

use crate::preflight::{self, Tool};
use crate::signals;
use crate::test_ca::TestCa;

/// The variable the Redis-backed tests read: `redis://127.0.0.1:PORT`.
pub const TEST_REDIS_URL_VAR: &str = "ORDER_MANAGER_TEST_REDIS_URL";

/// How long a starting server may take to answer before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to shut down after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting, each on a newly picked port: another process may take the free port
/// between our picking it and redis-server binding it.
const START_ATTEMPTS: u32 = 3;
/// How long a readiness probe waits for the answer to its PING.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of the server's log shown when it fails.
const LOG_TAIL_LINES: usize = 40;

/// A running redis-server, listening on 127.0.0.1 only, without a password, persisting nothing.
///
/// Dropping it stops the server (SIGTERM, then SIGKILL after 10 s) and deletes its temporary
/// directory; call [`Redis::stop`] instead to see errors.
#[derive(Debug)]
pub struct Redis {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The working directory, log, socket and TLS files; deleted after the server has stopped.
    runtime_dir: Option<TempDir>,
    /// A throwaway server also listens for TLS, with a certificate from its own CA.
    tls: Option<(u16, TestCa)>,
    stopped: bool,
}

impl Redis {
    /// Starts a server on a free port with an empty temporary directory.
    pub fn start_throwaway() -> Result<Self> {
        let binary = locate_server()?;
        let runtime_dir = tempfile::Builder::new()
            .prefix("xtask-redis-")
            .tempdir()
            .context("could not create a temporary directory for Redis")?;
        let log = runtime_dir.path().join("redis.log");
        let tls_dir = runtime_dir.path().join("tls");
        fs::create_dir(&tls_dir)?;
        let ca = TestCa::make(&tls_dir)?;
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            let mut tls_port = free_port()?;
            while tls_port == port {
                tls_port = free_port()?;
            }
            let listeners = Listeners {
                port,
                tls: Some((tls_port, &ca)),
            };
            match start(
                &binary,
                runtime_dir.path(),
                &log,
                &listeners,
                Persistence::None,
            ) {
                Ok(child) => {
                    return Ok(Self {
                        child,
                        port,
                        log,
                        runtime_dir: Some(runtime_dir),
                        tls: Some((tls_port, ca)),
                        stopped: false,
                    });
                }
                Err(StartError::PortTaken) if attempt < START_ATTEMPTS => {
                    eprintln!("xtask: port {port} was taken before Redis could bind it; retrying");
                    attempt += 1;
                }
                Err(StartError::PortTaken) => {
                    bail!("Redis could not bind a free port in {START_ATTEMPTS} attempts")
                }
                Err(StartError::Other(err)) => return Err(err),
            }
        }
    }

    /// Starts a server on `port` whose data (an append-only file) lives in `dir`, created if
    /// missing, so that sessions survive a restart.
    pub fn start_persistent(dir: &Path, port: u16) -> Result<Self> {
        let binary = locate_server()?;
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let log = dir.join("redis.log");
        let listeners = Listeners { port, tls: None };
        match start(&binary, dir, &log, &listeners, Persistence::AppendOnly) {
            Ok(child) => Ok(Self {
                child,
                port,
                log,
                runtime_dir: None,
                tls: None,
                stopped: false,
            }),
            Err(StartError::PortTaken) => {
                bail!("port {port} on 127.0.0.1 is already in use; pick another one")
            }
            Err(StartError::Other(err)) => Err(err),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
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
        if let Some(status) = self.child.try_wait()? {
            self.stopped = true;
            bail!(
                "Redis exited unexpectedly ({status}); end of {}:\n{}",
                self.log.display(),
                log_tail(&self.log)
            );
        }
        Ok(())
    }

    /// Stops the server and deletes its temporary directory, reporting any error.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let stopped = if self.stopped {
            Ok(())
        } else {
            self.stopped = true;
            stop_child(&mut self.child)
        };
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

impl Drop for Redis {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            eprintln!("xtask: warning: {err:#}");
        }
    }
}

/// `cargo xtask redis`: a throwaway Redis for running `cargo test` by hand, until Ctrl-C.
pub fn run_command() -> Result<()> {
    let mut redis = Redis::start_throwaway()?;
    // The URL and export line on stdout, everything else on stderr, so a script can read them.
    eprintln!("xtask: Redis is running");
    // Over TLS with the server's CA, as `cargo xtask ci` runs the tests.
    let url = redis.tls_url().unwrap_or_else(|| redis.url());
    println!("{url}");
    println!("export {TEST_REDIS_URL_VAR}='{url}'");
    eprintln!("xtask: press Ctrl-C to stop it; its data is deleted then.");

    // Half-second waits so that a server that dies on its own is reported, not waited on forever.
    let signal = loop {
        if let Some(signal) = signals::wait(Duration::from_millis(500)) {
            break signal;
        }
        redis.check_running()?;
    };
    eprintln!("xtask: {signal} received; stopping Redis");
    redis.stop()
}

/// SIGTERM makes redis-server shut down cleanly; SIGKILL if it takes longer than `STOP_TIMEOUT`.
fn stop_child(child: &mut Child) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    signals::send(child.id(), Signal::SIGTERM).context("could not send SIGTERM to redis-server")?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "xtask: Redis did not stop within {} s; killing it",
        STOP_TIMEOUT.as_secs()
    );
    child.kill().context("could not kill redis-server")?;
    child.wait().context("could not wait for redis-server")?;
    Ok(())
}

fn locate_server() -> Result<PathBuf> {
    preflight::locate(Tool::Redis, &["redis-server"])
}

/// A free TCP port on 127.0.0.1, as the kernel hands out for port 0.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not bind 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

#[derive(Debug)]
enum StartError {
    /// redis-server could not bind its port: pick another one and retry.
    PortTaken,
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(err: anyhow::Error) -> Self {
        Self::Other(err)
    }
}

impl From<std::io::Error> for StartError {
    fn from(err: std::io::Error) -> Self {
        Self::Other(err.into())
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
) -> Result<Child, StartError> {
    let mut command = command(binary, dir, log, listeners, persistence);
    // Where this attempt's part of the (appended-to) log starts.
    let log_start = fs::metadata(log).map_or(0, |metadata| metadata.len());
    // stderr goes to the log too: errors in the arguments are printed before the log is opened.
    let log_file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("could not open {}", log.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        // Its own process group: a Ctrl-C in the terminal then reaches xtask and the tests,
        // not the server, which xtask stops last, after the tests have ended.
        .process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    match wait_until_ready(&mut child, dir, log, log_start, listeners.port) {
        Ok(()) => Ok(child),
        Err(err) => {
            // Stop a server that is still starting (timeout, Ctrl-C); reaps an exited one.
            if let Err(stop_err) = stop_child(&mut child) {
                eprintln!("xtask: warning: {stop_err:#}");
            }
            Err(err)
        }
    }
}

/// Polls until the server answers PING on its socket and TCP port, it exits, or time runs out.
fn wait_until_ready(
    child: &mut Child,
    dir: &Path,
    log: &Path,
    log_start: u64,
    port: u16,
) -> Result<(), StartError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let socket = socket_path(dir);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            // "Warning: Could not create server TCP listening socket 127.0.0.1:PORT:
            // bind: Address already in use"
            if log_since(log, log_start).contains("Address already in use") {
                return Err(StartError::PortTaken);
            }
            return Err(anyhow!(
                "Redis exited during startup ({status}); end of {}:\n{}",
                log.display(),
                log_tail(log)
            )
            .into());
        }
        if let Some(signal) = signals::received() {
            return Err(anyhow!("interrupted by {signal} while Redis was starting").into());
        }
        // The socket first: it is ours alone, whereas whatever answers on the TCP port may be
        // another server that took the port first. redis-server opens the socket only after
        // binding the TCP port, and exits if that fails, so once the socket answers, the port
        // is ours too; the TCP check then proves TCP clients get in.
        if UnixStream::connect(&socket).is_ok_and(answers_ping)
            && TcpStream::connect_timeout(&address, PROBE_TIMEOUT).is_ok_and(answers_ping)
        {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(anyhow!(
                "Redis did not answer on {address} within {} s; end of {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                log_tail(log)
            )
            .into());
        }
        thread::sleep(Duration::from_millis(50));
    }
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

/// What was appended to the log at `path` after it was `start` bytes long.
fn log_since(path: &Path, start: u64) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let start = usize::try_from(start)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(_) => String::new(),
    }
}

/// The last lines of the server's log, where it says why it failed.
fn log_tail(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(err) => format!("(could not read it: {err})"),
    }
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

    #[test]
    fn log_since_reads_only_the_new_part() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
        let log = dir.path().join("redis.log");
        fs::write(&log, "old line\nnew line\n").unwrap_or_else(|err| panic!("write: {err}"));
        assert_eq!(log_since(&log, 9), "new line\n");
        assert_eq!(log_since(&log, 1000), "");
        assert_eq!(log_since(&dir.path().join("missing"), 0), "");
    }

    /// Starts a real server, talks to it, stops it, and checks that nothing is left behind.
    /// Needs redis-server, as `cargo xtask ci` does.
    #[test]
    fn starts_answers_and_cleans_up() {
        let redis = Redis::start_throwaway().unwrap_or_else(|err| panic!("{err:#}"));
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, redis.port));
        let stream = TcpStream::connect(address).unwrap_or_else(|err| panic!("connect: {err}"));
        assert!(answers_ping(stream));
        let dir = redis
            .runtime_dir
            .as_ref()
            .map(|dir| dir.path().to_path_buf());
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        redis.stop().unwrap_or_else(|err| panic!("{err:#}"));
        assert!(TcpStream::connect(address).is_err(), "still listening");
        assert!(
            dir.is_some_and(|dir| !dir.exists()),
            "directory left behind"
        );
    }
}
