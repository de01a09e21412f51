//! Free TCP ports on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};

use anyhow::{Context, Result, bail};

/// Attempts at starting a server, each on newly picked ports: another process may take a free
/// port between our picking it and the server binding it.
const START_ATTEMPTS: u32 = 3;

/// Why a server did not start on the ports it was given.
#[derive(Debug)]
pub enum StartError {
    /// It could not bind a port: pick others and retry.
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

/// A free TCP port on 127.0.0.1, as the kernel hands out for port 0. Nothing listens on it once
/// this returns, so another process may take it first: launchers retry on a new one.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not bind 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// `count` distinct free ports: the kernel may hand the same one out twice once it is released.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    let mut ports = BTreeSet::new();
    let mut found = Vec::with_capacity(count);
    while found.len() < count {
        let port = free_port()?;
        if ports.insert(port) {
            found.push(port);
        }
    }
    Ok(found)
}

/// Runs `start` on `count` distinct free ports, again on new ones (up to three attempts) while
/// it reports [`StartError::PortTaken`]. `what` names the server in messages.
pub fn start_on_free_ports<T>(
    what: &str,
    count: usize,
    mut start: impl FnMut(&[u16]) -> Result<T, StartError>,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        let ports = free_ports(count)?;
        match start(&ports) {
            Ok(started) => return Ok(started),
            Err(StartError::PortTaken) if attempt < START_ATTEMPTS => {
                eprintln!(
                    "testkit: port {ports:?} was taken before {what} could bind it; retrying"
                );
                attempt += 1;
            }
            Err(StartError::PortTaken) => {
                bail!("{what} could not bind a free port in {START_ATTEMPTS} attempts")
            }
            Err(StartError::Other(err)) => return Err(err),
        }
    }
}

/// [`free_port`] for tests, which fail on the spot when there is none.
#[allow(clippy::panic)]
pub fn free_port_or_panic() -> u16 {
    free_port().unwrap_or_else(|err| panic!("{err:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let ports = free_ports(3).unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), 3);
        for port in ports {
            assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        }
    }
}
