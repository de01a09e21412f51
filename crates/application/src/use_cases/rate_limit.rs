//! Rate limiting of clients by IP address, and of logins by IP address and by username.
//!
//! Keys: `<policy>:<subject>`, where the subject is an IPv4 address, the /64 prefix of an IPv6
//! address (one subscriber usually holds a whole /64: keying single IPv6 addresses would let
//! it rotate through 2^64 budgets), or a username. Usernames that cannot exist share one
//! subject, so a flood of made-up names cannot grow the limiter's state.
//!
//! A username has two login budgets. One per client network (`login-user`: the username and
//! the IPv4 /24 or IPv6 /48): it refuses, so guessing from one network stops there, and the
//! owner elsewhere is not locked out by it. One from anywhere (`login-user-all`, wider): it
//! only slows ([`ThrottleRequests::login_anywhere`]), so a spray from many networks is held to
//! its rate while the owner, delayed a little, still gets in.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use domain::Username;
use thiserror::Error;

use crate::ports::{InvalidPolicy, RateDecision, RateLimiter, RatePolicy};

/// The subject shared by every username that does not parse (`~` is not allowed in names).
const INVALID_USERNAME: &str = "~invalid";

/// The policies in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Every request of a client IP (but health probes).
    pub per_ip: RatePolicy,
    /// Login attempts of a client IP.
    pub login_per_ip: RatePolicy,
    /// Login attempts on one username from one client network: refused beyond it.
    pub login_per_user: RatePolicy,
    /// Login attempts on one username from anywhere: delayed beyond it, not refused.
    pub login_per_user_all: RatePolicy,
}

impl RateLimits {
    /// `requests_per_second` with bursts of `burst` per client IP; login attempts at most
    /// `logins_per_minute_ip` a minute per IP, `logins_per_minute_user` per username and client
    /// network, and `logins_per_minute_user_all` per username from anywhere.
    ///
    /// A login policy's burst is its per-minute number: that many attempts may come at once
    /// (a user retyping a password is not throttled), then one more each `60 s / n`. So no
    /// more than `2n - 1` attempts fit in any minute, and `n` a minute in the long run.
    pub fn new(
        requests_per_second: u32,
        burst: u32,
        logins_per_minute_ip: u32,
        logins_per_minute_user: u32,
        logins_per_minute_user_all: u32,
    ) -> Result<Self, InvalidPolicy> {
        let minute = Duration::from_secs(60);
        Ok(Self {
            per_ip: RatePolicy::new(
                "default",
                requests_per_second,
                Duration::from_secs(1),
                burst,
            )?,
            login_per_ip: RatePolicy::new(
                "login-ip",
                logins_per_minute_ip,
                minute,
                logins_per_minute_ip,
            )?,
            login_per_user: RatePolicy::new(
                "login-user",
                logins_per_minute_user,
                minute,
                logins_per_minute_user,
            )?,
            login_per_user_all: RatePolicy::new(
                "login-user-all",
                logins_per_minute_user_all,
                minute,
                logins_per_minute_user_all,
            )?,
        })
    }
}

/// One policy's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub policy: RatePolicy,
    pub decision: RateDecision,
}

/// The decisions on one request: it may proceed only if every policy allowed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throttle {
    /// In the order checked. Policies after a refusal are not checked (nor charged).
    pub verdicts: Vec<Verdict>,
}

impl Throttle {
    pub fn allowed(&self) -> bool {
        self.verdicts.iter().all(|v| v.decision.allowed)
    }

    /// When refused: the longest wait that any refusing policy asks for.
    pub fn retry_after(&self) -> Option<Duration> {
        self.verdicts
            .iter()
            .filter_map(|v| v.decision.retry_after())
            .max()
    }
}

/// How a login fared against its username's budget from anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginWait {
    /// The refusing verdict when it would have waited too long; `None`: it may proceed.
    pub refused: Option<Verdict>,
    /// How many times it waited for the budget.
    pub delays: u32,
}

/// The limiter could not decide, and nothing may go unlimited: the request is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("rate limiting is unavailable: {0}")]
pub struct ThrottleUnavailable(pub String);

/// Use case: decide whether a client's request (or login attempt) may proceed.
#[derive(Clone)]
pub struct ThrottleRequests {
    limiter: Arc<dyn RateLimiter>,
    limits: RateLimits,
}

impl std::fmt::Debug for ThrottleRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleRequests")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ThrottleRequests {
    pub fn new(limiter: Arc<dyn RateLimiter>, limits: RateLimits) -> Self {
        Self { limiter, limits }
    }

    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Counts a request of `client` against the per-IP policy.
    pub async fn request(&self, client: IpAddr) -> Result<Throttle, ThrottleUnavailable> {
        let mut throttle = Throttle::default();
        self.charge(&mut throttle, &self.limits.per_ip, &client_subject(client))
            .await?;
        Ok(throttle)
    }

    /// Counts a login attempt of `client` on `username`, per IP first (an address already
    /// refused does not also use up the username's budget), then per username and client
    /// network. Then, if allowed, see [`Self::login_anywhere`].
    pub async fn login(
        &self,
        client: IpAddr,
        username: &str,
    ) -> Result<Throttle, ThrottleUnavailable> {
        let mut throttle = Throttle::default();
        let allowed = self
            .charge(
                &mut throttle,
                &self.limits.login_per_ip,
                &client_subject(client),
            )
            .await?;
        if allowed {
            self.charge(
                &mut throttle,
                &self.limits.login_per_user,
                &format!("{}@{}", username_subject(username), network_subject(client)),
            )
            .await?;
        }
        Ok(throttle)
    }

    /// Counts a login attempt on `username` from anywhere, waiting while the budget is spent:
    /// the attempt asks again after each `retry_after`, so that a spray from many networks
    /// passes at this policy's rate and no faster, while the owner is only delayed. An attempt
    /// that would wait longer than `max_wait` in all is refused with the policy's verdict.
    pub async fn wait_for_login_anywhere(
        &self,
        username: &str,
        max_wait: Duration,
    ) -> Result<LoginWait, ThrottleUnavailable> {
        let started = tokio::time::Instant::now();
        let mut delays = 0;
        loop {
            let verdict = self.login_anywhere(username).await?;
            let Some(wait) = verdict.decision.retry_after() else {
                return Ok(LoginWait {
                    refused: None,
                    delays,
                });
            };
            if started.elapsed() + wait > max_wait {
                return Ok(LoginWait {
                    refused: Some(verdict),
                    delays,
                });
            }
            delays += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts one login attempt on `username` from anywhere (see
    /// [`Self::wait_for_login_anywhere`]).
    pub async fn login_anywhere(&self, username: &str) -> Result<Verdict, ThrottleUnavailable> {
        let mut throttle = Throttle::default();
        self.charge(
            &mut throttle,
            &self.limits.login_per_user_all,
            username_subject(username),
        )
        .await?;
        throttle
            .verdicts
            .pop()
            .ok_or_else(|| ThrottleUnavailable("no verdict".to_owned()))
    }

    /// Checks one policy, records its verdict, and tells whether it allowed the request.
    async fn charge(
        &self,
        throttle: &mut Throttle,
        policy: &RatePolicy,
        subject: &str,
    ) -> Result<bool, ThrottleUnavailable> {
        let key = format!("{}:{subject}", policy.name());
        let decision = self
            .limiter
            .check(&key, policy)
            .await
            .map_err(|e| ThrottleUnavailable(e.to_string()))?;
        throttle.verdicts.push(Verdict {
            policy: policy.clone(),
            decision,
        });
        Ok(decision.allowed)
    }
}

/// The network a client is in, as a person or a small site holds one: an IPv4 /24, an IPv6
/// /48. An attacker holding one is one network; the owner of an account is most likely in
/// another.
pub fn network_subject(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => {
            let prefix = std::net::Ipv4Addr::from(v4.to_bits() & 0xFFFF_FF00);
            format!("{prefix}/24")
        }
        IpAddr::V6(v6) => {
            let prefix = Ipv6Addr::from(v6.to_bits() & !(u128::MAX >> 48));
            format!("{prefix}/48")
        }
    }
}

/// An IPv4 address as is (IPv4-mapped IPv6 addresses included); an IPv6 address as its /64.
pub fn client_subject(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX));
            format!("{prefix}/64")
        }
    }
}

fn username_subject(username: &str) -> &str {
    match Username::parse(username) {
        Ok(_) => username,
        Err(_) => INVALID_USERNAME,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use mockall::predicate::{always, eq};

    use super::*;
    use crate::ports::{LimiterUnavailable, MockRateLimiter};

    fn limits() -> RateLimits {
        RateLimits::new(100, 200, 10, 5, 30).unwrap()
    }

    fn allow(policy: &RatePolicy) -> RateDecision {
        policy.decision(true, policy.emission_interval())
    }

    fn refuse(policy: &RatePolicy, wait: Duration) -> RateDecision {
        let backlog = policy.window() - policy.emission_interval() + wait;
        policy.decision(false, backlog)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn defaults_match_the_documented_policies() {
        let l = limits();
        assert_eq!(l.per_ip.emission_interval(), Duration::from_millis(10));
        assert_eq!(l.per_ip.burst(), 200);
        assert_eq!(l.login_per_ip.emission_interval(), Duration::from_secs(6));
        assert_eq!(l.login_per_ip.burst(), 10);
        assert_eq!(
            l.login_per_user.emission_interval(),
            Duration::from_secs(12)
        );
        assert_eq!(l.login_per_user.burst(), 5);
        assert_eq!(
            l.login_per_user_all.emission_interval(),
            Duration::from_secs(2)
        );
        assert!(RateLimits::new(0, 1, 1, 1, 1).is_err());
        assert!(RateLimits::new(1, 1, 1, 0, 1).is_err());
        assert!(RateLimits::new(1, 1, 1, 1, 0).is_err());
    }

    #[test]
    fn networks_are_ipv4_24_and_ipv6_48() {
        assert_eq!(network_subject(ip("203.0.113.7")), "203.0.113.0/24");
        assert_eq!(
            network_subject(ip("::ffff:203.0.113.200")),
            "203.0.113.0/24"
        );
        assert_eq!(network_subject(ip("2001:db8:1:2::1")), "2001:db8:1::/48");
        assert_ne!(
            network_subject(ip("203.0.113.7")),
            network_subject(ip("203.0.114.7"))
        );
    }

    #[test]
    fn ipv4_clients_are_keyed_by_address_and_ipv6_by_64_prefix() {
        assert_eq!(client_subject(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_subject(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            client_subject(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_subject(ip("2001:db8:1:2::1")),
            client_subject(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            client_subject(ip("2001:db8:1:2::1")),
            client_subject(ip("2001:db8:1:3::1"))
        );
    }

    #[tokio::test]
    async fn a_request_is_counted_against_the_per_ip_policy() {
        let l = limits();
        let per_ip = l.per_ip.clone();
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .with(eq("default:2001:db8::/64"), eq(per_ip.clone()))
            .times(1)
            .returning(|_, p| Ok(allow(p)));
        let throttle = ThrottleRequests::new(Arc::new(limiter), l)
            .request(ip("2001:db8::42"))
            .await
            .unwrap();
        assert!(throttle.allowed());
        assert_eq!(throttle.retry_after(), None);
        assert_eq!(throttle.verdicts.len(), 1);
        assert_eq!(throttle.verdicts[0].policy, per_ip);
        assert_eq!(throttle.verdicts[0].decision.remaining, 199);
    }

    #[tokio::test]
    async fn a_refused_request_says_how_long_to_wait() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .returning(|_, p| Ok(refuse(p, Duration::from_millis(7))));
        let throttle = ThrottleRequests::new(Arc::new(limiter), limits())
            .request(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
            .await
            .unwrap();
        assert!(!throttle.allowed());
        assert_eq!(throttle.retry_after(), Some(Duration::from_millis(7)));
    }

    #[tokio::test]
    async fn a_login_is_counted_per_ip_then_per_username() {
        let mut limiter = MockRateLimiter::new();
        let mut order = mockall::Sequence::new();
        limiter
            .expect_check()
            .with(eq("login-ip:192.0.2.1"), always())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, p| Ok(allow(p)));
        limiter
            .expect_check()
            .with(eq("login-user:alice@192.0.2.0/24"), always())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, p| Ok(allow(p)));
        let throttle = ThrottleRequests::new(Arc::new(limiter), limits())
            .login(ip("192.0.2.1"), "alice")
            .await
            .unwrap();
        assert!(throttle.allowed());
        let names: Vec<_> = throttle.verdicts.iter().map(|v| v.policy.name()).collect();
        assert_eq!(names, ["login-ip", "login-user"]);
    }

    #[tokio::test]
    async fn a_login_refused_per_ip_does_not_charge_the_username() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .with(eq("login-ip:192.0.2.1"), always())
            .times(1)
            .returning(|_, p| Ok(refuse(p, Duration::from_secs(6))));
        let throttle = ThrottleRequests::new(Arc::new(limiter), limits())
            .login(ip("192.0.2.1"), "alice")
            .await
            .unwrap();
        assert!(!throttle.allowed());
        assert_eq!(throttle.verdicts.len(), 1);
        assert_eq!(throttle.retry_after(), Some(Duration::from_secs(6)));
    }

    #[tokio::test]
    async fn a_username_refused_on_one_network_stops_every_address_there_and_no_other() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .withf(|key, _| key.starts_with("login-ip:"))
            .returning(|_, p| Ok(allow(p)));
        limiter
            .expect_check()
            .with(eq("login-user:alice@192.0.2.0/24"), always())
            .returning(|_, p| Ok(refuse(p, Duration::from_secs(12))));
        limiter
            .expect_check()
            .with(eq("login-user:alice@198.51.100.0/24"), always())
            .returning(|_, p| Ok(allow(p)));
        let uc = ThrottleRequests::new(Arc::new(limiter), limits());
        for client in ["192.0.2.1", "192.0.2.254"] {
            let throttle = uc.login(ip(client), "alice").await.unwrap();
            assert!(!throttle.allowed());
            assert_eq!(throttle.retry_after(), Some(Duration::from_secs(12)));
        }
        assert!(
            uc.login(ip("198.51.100.7"), "alice")
                .await
                .unwrap()
                .allowed()
        );
    }

    #[tokio::test]
    async fn the_budget_from_anywhere_is_one_per_username() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .with(eq("login-user-all:alice"), always())
            .times(1)
            .returning(|_, p| Ok(refuse(p, Duration::from_secs(2))));
        let uc = ThrottleRequests::new(Arc::new(limiter), limits());
        let verdict = uc.login_anywhere("alice").await.unwrap();
        assert_eq!(verdict.policy.name(), "login-user-all");
        assert_eq!(verdict.decision.retry_after(), Some(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn a_login_waits_for_the_budget_from_anywhere_but_not_beyond_the_bound() {
        let mut limiter = MockRateLimiter::new();
        let mut order = mockall::Sequence::new();
        limiter
            .expect_check()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, p| Ok(refuse(p, Duration::from_millis(50))));
        limiter
            .expect_check()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, p| Ok(allow(p)));
        limiter
            .expect_check()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, p| Ok(refuse(p, Duration::from_secs(2))));
        let uc = ThrottleRequests::new(Arc::new(limiter), limits());
        let started = std::time::Instant::now();
        let waited = uc
            .wait_for_login_anywhere("alice", Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!((waited.refused, waited.delays), (None, 1));
        assert!(started.elapsed() >= Duration::from_millis(50));
        let refused = uc
            .wait_for_login_anywhere("alice", Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(refused.delays, 0);
        let verdict = refused.refused.unwrap();
        assert_eq!(verdict.policy.name(), "login-user-all");
        assert_eq!(verdict.decision.retry_after(), Some(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn impossible_usernames_share_one_budget() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .withf(|key, _| key.starts_with("login-ip:"))
            .returning(|_, p| Ok(allow(p)));
        limiter
            .expect_check()
            .with(eq("login-user:~invalid@192.0.2.0/24"), always())
            .times(3)
            .returning(|_, p| Ok(allow(p)));
        let uc = ThrottleRequests::new(Arc::new(limiter), limits());
        for name in ["a b", "", &"x".repeat(10_000)] {
            uc.login(ip("192.0.2.1"), name).await.unwrap();
        }
    }

    #[tokio::test]
    async fn when_the_limiter_cannot_decide_nothing_goes_unlimited() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_check()
            .returning(|_, _| Err(LimiterUnavailable("down".into())));
        let uc = ThrottleRequests::new(Arc::new(limiter), limits());
        assert!(uc.request(ip("192.0.2.1")).await.is_err());
        assert!(uc.login(ip("192.0.2.1"), "alice").await.is_err());
    }
}
