//! Counters read from the server's own `/metrics` (Prometheus text), to show what a run cost the
//! database: how many requests each read statement answered.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};

/// `<name>_sum` and `<name>_count` of a summary or histogram, or zeros when it has no sample yet.
pub fn sum_and_count(port: u16, name: &str) -> Result<(f64, f64)> {
    let text = scrape(port)?;
    let value = |suffix: &str| {
        let series = format!("{name}_{suffix} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&series))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((value("sum"), value("count")))
}

fn scrape(port: u16) -> Result<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
        .with_context(|| format!("the metrics listener on {address} does not answer"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .context("no body in the metrics answer")
}
