//! The MariaDB and Redis servers the tests reach: started by `cargo xtask ci` (or by hand with
//! `cargo xtask mariadb` / `cargo xtask redis`), which pass their URLs in the environment. Both
//! are reached over TLS there, with the servers' own CA named in the URLs.

#![allow(clippy::expect_used, clippy::panic)]

use url::Url;

/// A MySQL server URL without a database name; each test makes a database of its own.
pub const MYSQL_URL_VAR: &str = "ORDER_MANAGER_TEST_MYSQL_URL";
/// The Redis URL, shared by the tests (their keys are random).
pub const REDIS_URL_VAR: &str = "ORDER_MANAGER_TEST_REDIS_URL";

/// The MySQL server's URL, as given (TLS parameters included).
pub fn mysql_server_url() -> String {
    std::env::var(MYSQL_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{MYSQL_URL_VAR} is not set: run the tests with `cargo xtask ci`, or start a private \
             MariaDB with `cargo xtask mariadb` and export the URL it prints"
        )
    })
}

/// The Redis URL, as given (TLS parameters included).
pub fn redis_url() -> String {
    std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{REDIS_URL_VAR} is not set: run the tests with `cargo xtask ci`, or start a private \
             Redis with `cargo xtask redis` and export the URL it prints"
        )
    })
}

/// The URL of database `name` on the server of `server_url`, its query (TLS) kept.
pub fn database_url(server_url: &str, name: &str) -> String {
    let mut url = parse(server_url);
    url.set_path(&format!("/{name}"));
    url.into()
}

/// The URL of database `name` on the test MySQL server.
pub fn mysql_database_url(name: &str) -> String {
    database_url(&mysql_server_url(), name)
}

/// `host:port` of a server URL, for a proxy in front of it.
pub fn address(server_url: &str) -> String {
    let url = parse(server_url);
    let host = url.host_str().expect("the URL has a host");
    let port = url.port().expect("the URL has a port");
    format!("{host}:{port}")
}

/// `url` with the value of query parameter `key` replaced by `value` (say, another CA file).
/// Panics when the URL has no such parameter: the caller expected one.
pub fn with_query_parameter(url: &str, key: &str, value: &str) -> String {
    let mut parsed = parse(url);
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        pairs.iter().any(|(k, _)| k == key),
        "{url} has no `{key}` parameter: the test stores must be reached over TLS \
         (`cargo xtask ci`, `cargo xtask mariadb`, `cargo xtask redis` give such URLs)"
    );
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs.into_iter().map(|(k, v)| {
            if k == key {
                (k, value.to_owned())
            } else {
                (k, v)
            }
        }));
    parsed.into()
}

fn parse(url: &str) -> Url {
    Url::parse(url).unwrap_or_else(|err| panic!("{url} is not a URL: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS_SERVER: &str =
        "mysql://root@127.0.0.1:3307?ssl-mode=VERIFY_IDENTITY&ssl-ca=/t/ca.crt";

    #[test]
    fn the_database_name_goes_into_the_path_and_the_tls_parameters_stay() {
        assert_eq!(
            database_url(TLS_SERVER, "om_x"),
            "mysql://root@127.0.0.1:3307/om_x?ssl-mode=VERIFY_IDENTITY&ssl-ca=/t/ca.crt"
        );
        assert_eq!(
            database_url("mysql://root@127.0.0.1:3307/", "om_x"),
            "mysql://root@127.0.0.1:3307/om_x"
        );
        assert_eq!(address(TLS_SERVER), "127.0.0.1:3307");
    }

    #[test]
    fn a_parameter_is_replaced_in_place() {
        assert_eq!(
            with_query_parameter(TLS_SERVER, "ssl-ca", "/other.pem"),
            "mysql://root@127.0.0.1:3307?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fother.pem"
        );
    }
}
