//! How the Redis adapters reach Redis: their settings, and the client they connect with, TLS
//! included.
//!
//! `rediss://` connects over TLS (rustls) and verifies the server's certificate and name
//! against the Mozilla roots, or against a private CA named in the URL as
//! `?ssl_ca_certs=/path/ca.pem` (the parameter redis-py reads, so one URL serves the usual
//! tools). The CA travels in the URL, as `ssl-ca` does in a MySQL URL, so that every place that
//! carries a Redis URL (settings, tests, manifests) carries its trust too.

use std::fmt;
use std::fs;
use std::time::Duration;

use redis::{Client, IntoConnectionInfo, TlsCertificates};
use url::Url;

/// How to reach Redis.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS, optionally with
    /// `?ssl_ca_certs=/path/ca.pem` to trust a private CA (see the module).
    pub url: String,
    /// The most connections kept open to Redis (at least 1).
    pub pool_size: usize,
    /// The longest any one call may take, connecting included (more than zero).
    pub timeout: Duration,
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The query parameter naming a PEM file of CA certificates to trust instead of the public roots.
pub const CA_FILE_PARAMETER: &str = "ssl_ca_certs";

/// The largest CA file read: a bundle of a few hundred certificates fits; anything larger is a
/// wrong path (say, a log file), not a trust store.
const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// A client for `url`, not yet connected: the one both Redis adapters use, public for tools and
/// tests that need a raw connection with the same TLS. Errors never include the URL, which may
/// hold a password.
pub fn open_client(url: &str) -> Result<Client, String> {
    let mut parsed = Url::parse(url).map_err(|err| format!("invalid Redis URL: {err}"))?;
    let ca_file = take_ca_file(&mut parsed);
    match ca_file {
        None => Client::open(parsed).map_err(|err| format!("invalid Redis URL: {err}")),
        Some(path) => {
            if parsed.scheme() != "rediss" {
                return Err(format!(
                    "{CA_FILE_PARAMETER} needs a rediss:// URL (TLS); this one is {}://",
                    parsed.scheme()
                ));
            }
            let root_cert = read_ca_file(&path)?;
            let info = parsed
                .into_connection_info()
                .map_err(|err| format!("invalid Redis URL: {err}"))?;
            Client::build_with_tls(
                info,
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root_cert),
                },
            )
            .map_err(|err| format!("cannot use the Redis CA file {path}: {err}"))
        }
    }
}

/// Removes `ssl_ca_certs` from the query (the redis crate does not know it) and returns it.
fn take_ca_file(url: &mut Url) -> Option<String> {
    let mut ca_file = None;
    let rest: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(key, value)| {
            if key == CA_FILE_PARAMETER {
                ca_file = Some(value.into_owned());
                None
            } else {
                Some((key.into_owned(), value.into_owned()))
            }
        })
        .collect();
    if ca_file.is_some() {
        if rest.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(rest);
        }
    }
    ca_file
}

fn read_ca_file(path: &str) -> Result<Vec<u8>, String> {
    let size = fs::metadata(path)
        .map_err(|err| format!("cannot read the Redis CA file {path}: {err}"))?
        .len();
    if size > MAX_CA_FILE_BYTES {
        return Err(format!(
            "the Redis CA file {path} is {size} bytes, more than a CA bundle ({MAX_CA_FILE_BYTES})"
        ));
    }
    let pem =
        fs::read(path).map_err(|err| format!("cannot read the Redis CA file {path}: {err}"))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|window| window == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(format!(
            "the Redis CA file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(pem)
}

/// The URL with its user info (user name and password) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rsplit_once('@') {
        Some((_user_info, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{tail}"),
        None => format!("{host}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info_only() {
        assert_eq!(
            redact_url("redis://user:s3cret@example.com:6379/2"),
            "redis://***@example.com:6379/2"
        );
        assert_eq!(
            redact_url("redis://:p@ss@127.0.0.1:6379"),
            "redis://***@127.0.0.1:6379"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/0?protocol=resp3"),
            "redis://127.0.0.1:6379/0?protocol=resp3"
        );
        assert_eq!(redact_url("no-scheme"), "no-scheme");
    }

    fn parse(url: &str) -> Url {
        Url::parse(url).unwrap_or_else(|err| panic!("{url}: {err}"))
    }

    #[test]
    fn the_ca_parameter_is_taken_out_of_the_url() {
        let mut url = parse("rediss://:pw@cache:6380/2?ssl_ca_certs=%2Fetc%2Fca.pem");
        assert_eq!(take_ca_file(&mut url).as_deref(), Some("/etc/ca.pem"));
        assert_eq!(url.as_str(), "rediss://:pw@cache:6380/2");

        let mut url = parse("rediss://cache/?protocol=resp3&ssl_ca_certs=/ca.pem");
        assert_eq!(take_ca_file(&mut url).as_deref(), Some("/ca.pem"));
        assert_eq!(url.as_str(), "rediss://cache/?protocol=resp3");

        let mut url = parse("redis://cache/?protocol=resp3");
        assert_eq!(take_ca_file(&mut url), None);
        assert_eq!(url.as_str(), "redis://cache/?protocol=resp3");
    }

    #[test]
    fn plain_and_tls_urls_open() {
        assert!(open_client("redis://127.0.0.1:6379").is_ok());
        assert!(open_client("rediss://127.0.0.1:6379").is_ok());
    }

    #[test]
    fn a_ca_file_needs_tls_and_a_certificate() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let not_pem = dir.path().join("ca.pem");
        fs::write(&not_pem, "hello").unwrap_or_else(|err| panic!("{err}"));
        let plain = open_client(&format!(
            "redis://127.0.0.1?ssl_ca_certs={}",
            not_pem.display()
        ));
        assert!(
            plain.as_ref().is_err_and(|err| err.contains("rediss://")),
            "{:?}",
            plain.err()
        );
        let garbage = open_client(&format!(
            "rediss://127.0.0.1?ssl_ca_certs={}",
            not_pem.display()
        ));
        assert!(
            garbage
                .as_ref()
                .is_err_and(|err| err.contains("no PEM certificate")),
            "{:?}",
            garbage.err()
        );
        let missing = open_client("rediss://:secret@127.0.0.1?ssl_ca_certs=/nonexistent/ca.pem");
        let message = missing.err().unwrap_or_default();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
