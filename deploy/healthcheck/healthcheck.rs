//! The container image's HEALTHCHECK: `GET /healthz` on the API listener, exit 0 on a 200.
//!
//! The runtime image (distroless) has no shell and no curl, and the server has no probe
//! subcommand, so this single std-only file is compiled with plain `rustc` in the build stage
//! (`deploy/Dockerfile`) into a ~400 KiB static-enough binary that runs in the exec form
//! `HEALTHCHECK CMD ["/usr/local/bin/healthcheck"]`.
//!
//! The port is taken from `ORDER_MANAGER_BIND` (the same variable the server reads; default
//! 127.0.0.1:8080), and the request always goes to the loopback address: a server bound to
//! 0.0.0.0 or [::] is reachable there too. An optional first argument overrides the path.
//! Exit codes: 0 healthy, 1 anything else (Docker treats every non-zero code as unhealthy).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_PATH: &str = "/healthz";
const TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let bind = std::env::var("ORDER_MANAGER_BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_PATH.to_owned());
    match probe(&bind, &path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("healthcheck: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// Where to connect for a server bound to `bind`: its port on the loopback address of the
/// same family (an unspecified bind address listens there too).
fn target(bind: &str) -> Result<SocketAddr, String> {
    let bound: SocketAddr = bind
        .trim()
        .parse()
        .map_err(|_| format!("ORDER_MANAGER_BIND `{bind}` is not an address:port"))?;
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, bound.port()))
}

fn probe(bind: &str, path: &str) -> Result<(), String> {
    let address = target(bind)?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("cannot set timeouts: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request to {address}: {e}"))?;
    // The status line is all that matters; read at most a small head of the answer.
    let mut head = [0_u8; 64];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("cannot read the answer from {address}: {e}")),
        }
        if head[..read].contains(&b'\n') {
            break;
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status_line = status_line.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(format!("GET {path} on {address} answered `{status_line}`")),
    }
}
