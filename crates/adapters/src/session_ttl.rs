//! Session lifetimes as the session stores keep them: whole seconds, as Redis's `EX` takes them,
//! so that a session lives as long in memory as in Redis.

use std::time::Duration;

/// The longest TTL stored: longer ones are cut to it (ten years; Redis refuses expiry times
/// that overflow, and no session should live that long anyway).
const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 60 * 60;

/// The TTL in whole seconds as given to `EX`: rounded up, at least 1, at most ten years.
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    secs.clamp(1, MAX_TTL_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_rounded_up_to_whole_seconds_and_at_least_one() {
        assert_eq!(ttl_secs(Duration::ZERO), 1);
        assert_eq!(ttl_secs(Duration::from_millis(10)), 1);
        assert_eq!(ttl_secs(Duration::from_secs(1)), 1);
        assert_eq!(ttl_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(3600)), 3600);
        assert_eq!(ttl_secs(Duration::MAX), MAX_TTL_SECS);
    }
}
