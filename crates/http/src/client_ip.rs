//! Which IP address a request comes from: the TCP peer, unless that peer is a trusted proxy
//! (ingress, load balancer), whose `X-Forwarded-For` then names the client.
//!
//! `X-Forwarded-For` is `client, proxy1, proxy2`: each proxy appends the address it received
//! the request from. Only the entries appended by trusted proxies can be believed; anything
//! to their left may be whatever the client sent. So the list is walked from the right,
//! skipping trusted addresses, and the first untrusted one is the client. A malformed entry
//! ends the walk at the last trusted hop (which is then treated as the client): it cannot have
//! been written by a proxy we trust, and guessing past it would let clients pick identities.

use std::fmt;
use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use ipnet::IpNet;

use crate::ApiState;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks of the proxies whose `X-Forwarded-For` is believed. Empty by default: then
/// `X-Forwarded-For` is ignored and the TCP peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }
}

/// A comma-separated list of CIDRs (`10.0.0.0/8, fd00::/8`) or single addresses; empty for
/// none.
impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|network| network.trunc())
                    .map_err(|_| format!("`{entry}` is neither a CIDR nor an IP address"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&list.join(","))
    }
}

/// The client's IP address, as found by the rate limiting middleware; in the request's
/// extensions for everything after it (and an extractor for handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromRequest for ClientIp {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientIp::of(req)))
    }
}

impl ClientIp {
    /// The address found by the middleware, or found now the same way if it did not run.
    pub fn of(req: &HttpRequest) -> Self {
        if let Some(found) = req.extensions().get::<ClientIp>() {
            return *found;
        }
        let trusted = req
            .app_data::<web::Data<ApiState>>()
            .map(|state| state.rate_limit.trusted_proxies.clone())
            .unwrap_or_default();
        ClientIp(resolve(
            req.peer_addr().map(|peer| peer.ip()),
            req.headers(),
            &trusted,
        ))
    }
}

/// The client address of a request from `peer` with `headers`. Without a peer address (not a
/// TCP connection: only in tests), the unspecified address stands for every such client.
pub(crate) fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .to_canonical();
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let mut nearest_trusted = peer;
    // Several header lines form one list, in order; walk it from the right.
    let lines: Vec<&[u8]> = headers
        .get_all(X_FORWARDED_FOR)
        .map(|value| value.as_bytes())
        .collect();
    for line in lines.into_iter().rev() {
        let Ok(line) = std::str::from_utf8(line) else {
            return nearest_trusted;
        };
        for entry in line.rsplit(',') {
            let Some(address) = parse_entry(entry) else {
                return nearest_trusted;
            };
            if !trusted.contains(address) {
                return address;
            }
            nearest_trusted = address;
        }
    }
    nearest_trusted
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:443`) as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(line).unwrap(),
            );
        }
        map
    }

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    #[test]
    fn parses_cidrs_and_single_addresses() {
        let trusted = proxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,, ::1 ");
        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("192.168.1.7")));
        assert!(!trusted.contains(ip("192.168.1.8")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(trusted.contains(ip("::1")));
        assert!(trusted.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped");
        assert_eq!(
            trusted.to_string(),
            "10.0.0.0/8,192.168.1.7/32,fd00::/8,::1/128"
        );
        assert!(proxies("").is_empty());
        assert!(proxies(" , ").is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.example".parse::<TrustedProxies>().is_err());
        // Host bits are dropped, as a network is meant.
        assert_eq!(proxies("10.1.2.3/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn without_trusted_proxies_forwarded_for_is_ignored() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(
            resolve(Some(ip("198.51.100.1")), &h, &TrustedProxies::default()),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let h = headers(&["203.0.113.9"]);
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            resolve(Some(ip("198.51.100.1")), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_entry_from_the_right_is_the_client() {
        let trusted = proxies("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            resolve(peer, &headers(&["203.0.113.9"]), &trusted),
            ip("203.0.113.9")
        );
        // The client wrote 1.2.3.4 itself; the ingress appended the real address, then an
        // internal proxy its own.
        let h = headers(&["1.2.3.4, 203.0.113.9, 10.0.0.7"]);
        assert_eq!(resolve(peer, &h, &trusted), ip("203.0.113.9"));
        // The same list over several header lines.
        let h = headers(&["1.2.3.4", "203.0.113.9", "10.0.0.7"]);
        assert_eq!(resolve(peer, &h, &trusted), ip("203.0.113.9"));
    }

    /// The header ingress-nginx sends behind a cloud load balancer, with `use-forwarded-headers`
    /// and `compute-full-forwarded-for`: the header it received (the client's own claims, then
    /// the address the load balancer saw), then `$realip_remote_addr`, which is the load
    /// balancer's address, not the controller pod's. The TCP peer is the controller pod.
    #[test]
    fn behind_ingress_nginx_and_a_load_balancer_both_must_be_trusted() {
        let pod = Some(ip("10.244.3.17"));
        let h = headers(&["198.51.100.4, 203.0.113.9, 10.0.4.20"]);
        // Trusting the pods and the load balancer's network (proxy-real-ip-cidr): the client.
        let both = proxies("10.244.0.0/16,10.0.0.0/16");
        assert_eq!(resolve(pod, &h, &both), ip("203.0.113.9"));
        // Trusting the pods only, every client would be the load balancer: one shared budget.
        let pods_only = proxies("10.244.0.0/16");
        assert_eq!(resolve(pod, &h, &pods_only), ip("10.0.4.20"));
        // A client that reaches the controller directly cannot pose as another one.
        let direct = headers(&["198.51.100.4, 192.0.2.50"]);
        assert_eq!(resolve(pod, &direct, &both), ip("192.0.2.50"));
    }

    #[test]
    fn forwarded_entries_may_carry_ports_and_be_ipv6() {
        let trusted = proxies("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            resolve(peer, &headers(&["203.0.113.9:4711"]), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(peer, &headers(&["[2001:db8::5]:443"]), &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            resolve(peer, &headers(&[" 2001:db8::5 "]), &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            resolve(peer, &headers(&["::ffff:203.0.113.9"]), &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn malformed_entries_stop_at_the_nearest_trusted_hop() {
        let trusted = proxies("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        for bad in [
            "unknown",
            "",
            "203.0.113.9 10.0.0.2",
            "not-an-ip, 10.0.0.5",
            "_hidden",
        ] {
            let found = resolve(peer, &headers(&[bad]), &trusted);
            assert!(trusted.contains(found), "{bad:?} gave {found}");
        }
        assert_eq!(
            resolve(
                peer,
                &headers(&["203.0.113.9, garbage, 10.0.0.5"]),
                &trusted
            ),
            ip("10.0.0.5")
        );
        let mut h = HeaderMap::new();
        h.append(
            HeaderName::from_static(X_FORWARDED_FOR),
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(resolve(peer, &h, &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn only_trusted_entries_or_none_leave_the_furthest_trusted_hop() {
        let trusted = proxies("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(resolve(peer, &HeaderMap::new(), &trusted), ip("10.0.0.1"));
        assert_eq!(
            resolve(peer, &headers(&["10.0.0.3, 10.0.0.2"]), &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        let trusted = proxies("127.0.0.1/32");
        let h = headers(&["203.0.113.9"]);
        assert_eq!(
            resolve(Some(ip("::ffff:127.0.0.1")), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(
                Some(ip("::ffff:198.51.100.1")),
                &HeaderMap::new(),
                &TrustedProxies::default()
            ),
            ip("198.51.100.1")
        );
        assert_eq!(resolve(None, &h, &TrustedProxies::default()), ip("0.0.0.0"));
    }
}
