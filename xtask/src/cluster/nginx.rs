//! The real nginx in front of the replicas: a certificate authority and a server certificate
//! made with the `openssl` CLI, and a scratch directory holding a main `nginx.conf` that
//! includes the shipped `deploy/nginx/order-manager.conf` by its absolute path (never a copy),
//! plus the two small files that file expects beside the main one: `upstream.conf` (the
//! replicas) and `tls.conf` (listener and certificate). See deploy/README.md, "nginx".

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::Signal;

use crate::cargo::workspace_root;
use crate::signals;

/// The shipped nginx configuration (shared with docker-compose).
const NGINX_DIR: &str = "deploy/nginx";
const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nginx (master and workers), stopped on Drop.
#[derive(Debug)]
pub struct Nginx {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    /// PEM of the CA that signed nginx's certificate: the only root the suite's clients trust.
    pub ca_pem: Vec<u8>,
}

/// Finds nginx, installing the Debian package when it is missing and xtask runs as root.
pub fn locate_or_install() -> Result<PathBuf> {
    let find = || {
        ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    if !nix::unistd::Uid::effective().is_root() {
        bail!("nginx is needed for the cluster; install it with `sudo apt-get install nginx`");
    }
    eprintln!("xtask: nginx is missing; installing the Debian package nginx");
    for args in [
        &["update", "-qq"][..],
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "nginx",
            "openssl",
        ][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("could not run apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
    }
    find().ok_or_else(|| anyhow!("nginx is still missing after apt-get install nginx"))
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("could not run openssl (apt-get install openssl)")?;
    if !output.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// A throwaway CA (ECDSA P-256, valid 2 days) and a server certificate it signs for
/// `localhost` and `127.0.0.1`. A separate CA, because rustls (webpki) refuses a CA
/// certificate used as the server's own.
fn make_certificates(dir: &Path) -> Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=order-manager cluster CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "tls.key",
            "-out",
            "tls.csr",
        ],
    )?;
    fs::write(
        dir.join("tls.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "tls.ext",
            "-out",
            "tls.crt",
        ],
    )
}

/// The generated main file: process settings and paths of this scratch directory, then the
/// shipped server configuration by absolute path.
fn main_conf(dir: &Path, shared: &Path) -> String {
    // As root the master would start its workers as `nobody`, who may not be able to reach
    // temp paths under the work tree.
    let user = if nix::unistd::Uid::effective().is_root() {
        "user root;\n"
    } else {
        ""
    };
    let d = dir.display();
    format!(
        "# Generated by `cargo xtask cluster`; the server itself is {shared}.\n\
         {user}daemon off;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{\n    worker_connections 1024;\n}}\n\
         http {{\n    default_type application/octet-stream;\n    access_log {d}/access.log;\n    \
         client_body_temp_path {d}/tmp-body;\n    proxy_temp_path {d}/tmp-proxy;\n    \
         fastcgi_temp_path {d}/tmp-fastcgi;\n    uwsgi_temp_path {d}/tmp-uwsgi;\n    \
         scgi_temp_path {d}/tmp-scgi;\n    include {shared};\n}}\n",
        shared = shared.display(),
    )
}

/// `server` lines of the replicas. A replica that refused a connection is skipped for 2 s
/// (nginx's passive health check), short enough to take a restarted replica back quickly.
pub fn upstream_conf(replica_ports: &[u16]) -> String {
    replica_ports
        .iter()
        .map(|port| format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n"))
        .collect()
}

impl Nginx {
    /// Writes the configuration into `dir` and starts nginx on 127.0.0.1:`port`.
    pub fn start(dir: &Path, port: u16, replica_ports: &[u16]) -> Result<Self> {
        let nginx = locate_or_install()?;
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        make_certificates(dir)?;
        let shared = workspace_root().join(NGINX_DIR).join("order-manager.conf");
        fs::write(dir.join("nginx.conf"), main_conf(dir, &shared))?;
        fs::write(dir.join("upstream.conf"), upstream_conf(replica_ports))?;
        fs::write(
            dir.join("tls.conf"),
            format!(
                "listen 127.0.0.1:{port} ssl;\nssl_certificate {d}/tls.crt;\n\
                 ssl_certificate_key {d}/tls.key;\n",
                d = dir.display()
            ),
        )?;
        let ca_pem = fs::read(dir.join("ca.crt"))?;
        let mut child = Command::new(&nginx)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("could not start {}", nginx.display()))?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "nginx exited at start ({status}):\n{}",
                    fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!("nginx did not listen on {address} in time");
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
            ca_pem,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGQUIT (graceful: workers finish their requests), SIGKILL after 10 s.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_none() {
            let _ = signals::send(child.id(), Signal::SIGQUIT);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    eprintln!("xtask: nginx did not stop in time; killing it");
                    child.kill()?;
                    child.wait()?;
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            eprintln!("xtask: warning: stopping nginx: {err:#}");
        }
    }
}
