//! Warnings, at start, about connections to the data stores that travel in clear text or
//! unverified beyond this machine: the service still runs (a laptop or a sidecar proxy may make
//! that right), but an operator reading the log learns at once what the URL lacks.

use url::Url;

/// What `DATABASE_URL` and `REDIS_URL` leave unprotected, one sentence each.
pub fn warnings(database_url: &str, redis_url: Option<&str>) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(url) = Url::parse(database_url)
        .ok()
        .filter(|url| url.scheme() == "mysql" && !is_local(url))
    {
        let mode = url
            .query_pairs()
            .find(|(key, _)| key == "ssl-mode")
            .map(|(_, value)| value.to_ascii_uppercase());
        if !matches!(mode.as_deref(), Some("VERIFY_IDENTITY" | "VERIFY_CA")) {
            warnings.push(format!(
                "the connection to MySQL at {} does not verify the server (ssl-mode={}): add \
                 ?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem to DATABASE_URL",
                url.host_str().unwrap_or_default(),
                mode.as_deref().unwrap_or("PREFERRED, the default")
            ));
        }
    }
    if let Some(url) = redis_url
        .and_then(|url| Url::parse(url).ok())
        .filter(|url| url.scheme() == "redis" && !is_local(url))
    {
        warnings.push(format!(
            "the connection to Redis at {} is not encrypted: use rediss:// in REDIS_URL (with \
             ?ssl_ca_certs=/path/ca.pem for a private CA)",
            url.host_str().unwrap_or_default()
        ));
    }
    warnings
}

fn is_local(url: &Url) -> bool {
    match url.host() {
        // `mysql:` and `redis:` are not special schemes to the URL standard: their hosts come as
        // opaque names, addresses included.
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        }
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_stores_without_verified_tls_are_named() {
        let found = warnings(
            "mysql://u:p@db.internal:3306/om",
            Some("redis://:p@cache.internal:6379"),
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("db.internal") && found[0].contains("PREFERRED"));
        assert!(found[1].contains("cache.internal") && found[1].contains("rediss://"));
        assert!(found.iter().all(|warning| !warning.contains(":p@")));

        let weak = warnings("mysql://u:p@db:3306/om?ssl-mode=REQUIRED", None);
        assert!(weak[0].contains("ssl-mode=REQUIRED"), "{weak:?}");
    }

    #[test]
    fn verified_tls_sqlite_and_loopback_are_quiet() {
        for (database, redis) in [
            (
                "mysql://u:p@db:3306/om?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem",
                Some("rediss://:p@cache:6380/?ssl_ca_certs=/ca.pem"),
            ),
            ("sqlite://data/order-manager.db?mode=rwc", None),
            (
                "mysql://root@127.0.0.1:3307/om",
                Some("redis://localhost:6379"),
            ),
            ("mysql://root@[::1]:3307/om", Some("redis://127.0.0.1:6380")),
        ] {
            assert_eq!(
                warnings(database, redis),
                Vec::<String>::new(),
                "{database}"
            );
        }
    }
}
