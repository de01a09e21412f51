//! A private MariaDB server, started from the machine's MariaDB binaries and stopped on Drop.
//!
//! Why private: tests then never depend on, or damage, the machine's own MariaDB (port 3306),
//! its configuration or its passwords, and every CI run starts from an empty server.
//! `--no-defaults` on every command keeps `/etc/mysql` and `~/.my.cnf` out of it.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use crate::ca::TestCa;
use crate::instance::{self, Instance};
use crate::logs;
use crate::ports::{self, StartError};
use crate::process::{OnDrop, Process, StopWith};
use crate::programs;

/// How long a starting server may take to answer before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// SIGTERM makes mariadbd shut down cleanly; SIGKILL if it takes longer than 20 s.
const STOP_WITH: StopWith = StopWith::sigterm(Duration::from_secs(20));
/// How long a readiness probe waits for the server's greeting.
const GREETING_TIMEOUT: Duration = Duration::from_secs(2);

/// A running mariadbd, listening on 127.0.0.1 only, with a passwordless `root` account.
///
/// Dropping it stops the server (SIGTERM, then SIGKILL after 20 s) and deletes its temporary
/// files; call [`MariaDb::stop`] instead to see errors.
#[derive(Debug)]
pub struct MariaDb {
    instance: Instance,
    port: u16,
    server_version: String,
    error_log: PathBuf,
    /// The CA of the server's certificate, for a throwaway server (which offers TLS).
    tls: Option<TestCa>,
}

/// The MariaDB programs we need.
#[derive(Debug)]
struct Binaries {
    server: PathBuf,
    install_db: PathBuf,
}

/// How to start a server.
#[derive(Debug)]
struct Launch<'a> {
    binaries: &'a Binaries,
    data_dir: &'a Path,
    error_log: &'a Path,
    runtime_dir: &'a Path,
    port: u16,
    throwaway: bool,
    init_sql: Option<&'a str>,
    tls: Option<&'a TestCa>,
}

impl MariaDb {
    /// Starts a server with an empty data directory in a temporary directory, on a free port.
    /// Its data is deleted when it stops.
    pub fn start_throwaway() -> Result<Self> {
        let binaries = Binaries::locate()?;
        let runtime_dir = tempfile::Builder::new()
            .prefix("xtask-mariadb-")
            .tempdir()
            .context("could not create a temporary directory for MariaDB")?;
        let data_dir = runtime_dir.path().join("data");
        let error_log = runtime_dir.path().join("error.log");
        install_data_dir(&binaries, &data_dir)?;
        let tls_dir = runtime_dir.path().join("tls");
        fs::create_dir(&tls_dir)?;
        let tls = TestCa::make(&tls_dir)?;

        let (process, port, server_version) = ports::start_on_free_ports("MariaDB", 1, |ports| {
            let launch = Launch {
                binaries: &binaries,
                data_dir: &data_dir,
                error_log: &error_log,
                runtime_dir: runtime_dir.path(),
                port: ports[0],
                throwaway: true,
                init_sql: None,
                tls: Some(&tls),
            };
            let (process, server_version) = launch.start()?;
            Ok((process, launch.port, server_version))
        })?;
        let mut server = Self::new(process, port, server_version, error_log, runtime_dir);
        server.tls = Some(tls);
        Ok(server)
    }

    /// Starts a server whose data lives in `data_dir` (created and initialised if missing) on
    /// `port`, then runs `init_sql` (say, `CREATE DATABASE IF NOT EXISTS ...`) before it
    /// accepts connections.
    pub fn start_persistent(data_dir: &Path, port: u16, init_sql: &str) -> Result<Self> {
        let binaries = Binaries::locate()?;
        // Checked first because mariadbd's own message for it is buried in its error log.
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).with_context(|| {
            format!(
                "port {port} on 127.0.0.1 is already in use (another `cargo xtask dev`?); \
                 pick another one with --mariadb-port"
            )
        })?;
        if !data_dir.join("mysql").is_dir() {
            install_persistent_data_dir(&binaries, data_dir)?;
        }
        let runtime_dir = tempfile::Builder::new()
            .prefix("xtask-mariadb-")
            .tempdir()
            .context("could not create a temporary directory for MariaDB")?;
        let error_log = data_dir.join("error.log");
        let launch = Launch {
            binaries: &binaries,
            data_dir,
            error_log: &error_log,
            runtime_dir: runtime_dir.path(),
            port,
            throwaway: false,
            init_sql: Some(init_sql),
            tls: None,
        };
        match launch.start() {
            Ok((process, server_version)) => Ok(Self::new(
                process,
                port,
                server_version,
                error_log,
                runtime_dir,
            )),
            Err(StartError::PortTaken) => {
                bail!(
                    "port {port} on 127.0.0.1 is already in use; pick another one with --mariadb-port"
                )
            }
            Err(StartError::Other(err)) => Err(err),
        }
    }

    fn new(
        process: Process,
        port: u16,
        server_version: String,
        error_log: PathBuf,
        runtime_dir: TempDir,
    ) -> Self {
        Self {
            // Socket, pid file, init file and, for a throwaway server, the data, error log and
            // TLS files.
            instance: Instance::new(process, Some(runtime_dir)),
            port,
            server_version,
            error_log,
            tls: None,
        }
    }

    /// `mysql://root@127.0.0.1:PORT`, without a database name.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// For a throwaway server: its URL over TLS, verifying the certificate and the host name
    /// against the server's own CA, as production does (`ssl-mode=VERIFY_IDENTITY`).
    pub fn tls_url(&self) -> Option<String> {
        self.tls.as_ref().map(|ca| {
            format!(
                "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
                self.url(),
                ca.ca_certificate().display()
            )
        })
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.instance.process.pid()
    }

    /// The port on 127.0.0.1 it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The version the server announced, such as `10.11.19-MariaDB-0+deb12u1`.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Fails if the server has exited on its own.
    pub fn check_running(&mut self) -> Result<()> {
        self.instance.check_running("MariaDB", &self.error_log)
    }

    /// Stops the server and deletes its temporary files, reporting any error.
    pub fn stop(mut self) -> Result<()> {
        self.instance.shutdown()
    }
}

impl Binaries {
    fn locate() -> Result<Self> {
        Ok(Self {
            server: programs::locate(&["mariadbd", "mysqld"], "mariadb-server")?,
            install_db: programs::locate(
                &["mariadb-install-db", "mysql_install_db"],
                "mariadb-server",
            )?,
        })
    }
}

/// As root, mariadbd refuses to start unless told `--user=root`; for anyone else the option
/// is pointless (mariadbd warns) or refused (mariadb-install-db), so it is left out.
fn user_args() -> Vec<String> {
    if nix::unistd::geteuid().is_root() {
        vec!["--user=root".to_owned()]
    } else {
        Vec::new()
    }
}

/// Server options that mariadb-install-db must also get, so that the files it creates match.
fn storage_args() -> Vec<String> {
    [
        "--innodb-buffer-pool-size=128M",
        // Given to install-db too: otherwise the first start resizes the redo log from 96M.
        "--innodb-log-file-size=48M",
        // Without /etc/mysql the compiled-in default is latin1; Debian's packaged config
        // (like most real servers) uses utf8mb4, and the application stores Unicode text.
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Creates the system tables in an empty `data_dir`.
fn install_data_dir(binaries: &Binaries, data_dir: &Path) -> Result<()> {
    let mut command = Command::new(&binaries.install_db);
    // `--no-defaults` must come first, or it is ignored.
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data_dir.display()))
        // `root` without a password (the instance only listens on 127.0.0.1); the default,
        // `socket`, would only let the Unix user root in, over the socket.
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .args(user_args())
        .args(storage_args())
        .stdin(Stdio::null());
    let output = command
        .output()
        .with_context(|| format!("could not run {}", binaries.install_db.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}):\n{}{}",
            binaries.install_db.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Initialises a persistent data directory in a sibling staging directory, moved into place
/// only once complete, so an interrupted first run does not leave a half-made one behind.
fn install_persistent_data_dir(binaries: &Binaries, data_dir: &Path) -> Result<()> {
    let parent = data_dir
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", data_dir.display()))?;
    fs::create_dir_all(parent).with_context(|| format!("could not create {}", parent.display()))?;
    if data_dir.exists() && fs::read_dir(data_dir)?.next().is_some() {
        bail!(
            "{} exists but holds no MariaDB data (no `mysql` directory); move it away",
            data_dir.display()
        );
    }
    eprintln!(
        "testkit: creating a MariaDB data directory in {}",
        data_dir.display()
    );
    let staging = tempfile::Builder::new()
        .prefix(".mariadb-install-")
        .tempdir_in(parent)
        .with_context(|| format!("could not create a directory in {}", parent.display()))?;
    install_data_dir(binaries, staging.path())?;
    if data_dir.exists() {
        fs::remove_dir(data_dir)?;
    }
    let staged = staging.keep();
    fs::rename(&staged, data_dir).with_context(|| {
        format!(
            "could not move {} to {}",
            staged.display(),
            data_dir.display()
        )
    })?;
    Ok(())
}

impl Launch<'_> {
    /// Starts mariadbd and waits until it greets clients; returns it and its version.
    fn start(&self) -> Result<(Process, String), StartError> {
        let mut command = self.command()?;
        // Where this attempt's part of the (appended-to) error log starts.
        let log_start = logs::length(self.error_log);
        let mut process = Process::spawn("MariaDB", &mut command, STOP_WITH, OnDrop::Stop)?;
        let version = self.wait_until_ready(&mut process, log_start)?;
        Ok((process, version))
    }

    fn socket_path(&self) -> PathBuf {
        self.runtime_dir.join("mysqld.sock")
    }

    fn command(&self) -> Result<Command> {
        let dir = self.runtime_dir;
        let mut command = Command::new(&self.binaries.server);
        // `--no-defaults` must come first, or it is ignored.
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir.display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            // Socket and pid file in a short temporary path: a socket path over ~107 bytes
            // fails, and a deep checkout under .dev/ could exceed it.
            .arg(format!("--socket={}", self.socket_path().display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", self.error_log.display()))
            // Clients connect as root@127.0.0.1 (created by install-db); no DNS lookups.
            .arg("--skip-name-resolve")
            .arg("--skip-log-bin")
            // Commit durability to the OS, not the disk: much faster tests, and a local server
            // only loses the last second of commits if the whole machine crashes.
            .arg("--innodb-flush-log-at-trx-commit=2")
            .args(user_args())
            .args(storage_args());
        if self.throwaway {
            // Crash safety and warm restarts are pointless for data deleted at the end.
            command
                .arg("--skip-innodb-doublewrite")
                .arg("--innodb-buffer-pool-dump-at-shutdown=OFF")
                .arg("--innodb-buffer-pool-load-at-startup=OFF");
        }
        if let Some(tls) = self.tls {
            // Offered, not required: the tests connect over TLS, the server's own probes and
            // the `mariadb` client of `cargo xtask` over the socket or plain TCP.
            command
                .arg(format!("--ssl-ca={}", tls.ca_certificate().display()))
                .arg(format!("--ssl-cert={}", tls.server_certificate().display()))
                .arg(format!("--ssl-key={}", tls.server_key().display()));
        }
        if let Some(sql) = self.init_sql {
            // Run by the server itself before it accepts connections, so no client program
            // is needed; a failing statement makes the server abort, with the reason in its log.
            let init_file = dir.join("init.sql");
            fs::write(&init_file, sql)
                .with_context(|| format!("could not write {}", init_file.display()))?;
            command.arg(format!("--init-file={}", init_file.display()));
        }
        // stderr goes to the log too: messages from before the log is opened are not lost.
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logs::append(self.error_log)?);
        Ok(command)
    }

    /// Polls until the server sends its greeting on the TCP port; gives up when it exits, a
    /// signal arrives or time runs out (then it is stopped).
    fn wait_until_ready(
        &self,
        process: &mut Process,
        log_start: u64,
    ) -> Result<String, StartError> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let socket = self.socket_path();
        // The socket first: it is ours alone, whereas whatever answers on the TCP port may be
        // another server that took the port first (seen: the system MariaDB on 3306 greeted the
        // probe while ours was failing to bind). mariadbd creates the socket only after binding
        // the TCP port, and aborts if that fails, so once the socket greets, the port is ours
        // too; the TCP check then proves TCP clients get in.
        let ready = process.wait_until_ready(START_TIMEOUT, || {
            greeting_on_socket(&socket)?;
            greeting_on_tcp(address)
        });
        instance::started(
            "MariaDB",
            ready,
            address,
            START_TIMEOUT,
            self.error_log,
            log_start,
        )
    }
}

fn greeting_on_tcp(address: SocketAddr) -> Option<String> {
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(GREETING_TIMEOUT)).ok()?;
    read_greeting(stream)
}

fn greeting_on_socket(path: &Path) -> Option<String> {
    let stream = UnixStream::connect(path).ok()?;
    stream.set_read_timeout(Some(GREETING_TIMEOUT)).ok()?;
    read_greeting(stream)
}

/// The server version from the MySQL protocol greeting (the "initial handshake packet") that
/// a ready server sends as soon as a client connects; None while it is not ready.
///
/// Why not just a TCP connect: mariadbd opens its port before it finishes starting; the
/// greeting comes only once it handles connections. Why not the `mariadb` client: one less
/// program to need. (The server logs each probe as an "Aborted connection ... closed normally
/// without authentication" warning; harmless.)
fn read_greeting(mut stream: impl Read) -> Option<String> {
    // Packet header: 3-byte little-endian payload length, 1-byte sequence number.
    let mut header = [0_u8; 4];
    stream.read_exact(&mut header).ok()?;
    let length =
        usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0_u8; length.min(1024)];
    stream.read_exact(&mut payload).ok()?;
    // Protocol version 10 (0xff would be an error packet, e.g. "too many connections"), then
    // the NUL-terminated server version.
    let (&protocol, rest) = payload.split_first()?;
    if protocol != 10 {
        return None;
    }
    let version = rest.split(|&byte| byte == 0).next()?;
    let version = String::from_utf8_lossy(version);
    // MariaDB prefixes "5.5.5-" for clients that only know MySQL version numbers.
    Some(
        version
            .strip_prefix("5.5.5-")
            .unwrap_or(&version)
            .to_owned(),
    )
}
