//! Delay tiers: the fixed set of waits that deferred messages are rounded up to.
//!
//! Each tier is one wait queue per subscriber, so the tiers bound how many wait queues can exist.
//! Tier `k` is `ceil(2^(k/4))` milliseconds: four tiers per doubling, so a delay is rounded up by
//! less than 19 % plus a millisecond, and never down: a message never comes back early. The
//! longest tier is the largest TTL RabbitMQ accepts, 2^32 − 1 ms (about 49.7 days).

use std::sync::OnceLock;
use std::time::Duration;

/// Longest supported delay: RabbitMQ's largest message TTL.
pub const MAX_DELAY: Duration = Duration::from_millis(u32::MAX as u64);

/// Length of the longest wait-queue suffix, `.wait.4294967295`.
pub(crate) const WAIT_QUEUE_SUFFIX_MAX_LEN: usize = ".wait.".len() + 10;

/// Every tier in milliseconds, ascending.
pub fn all() -> &'static [u32] {
    static TIERS: OnceLock<Vec<u32>> = OnceLock::new();
    TIERS.get_or_init(|| {
        let mut tiers: Vec<u32> = (0..=128u32).map(tier).collect();
        tiers.dedup();
        tiers
    })
}

/// Tier `k` in milliseconds: `ceil(2^(k/4))`, capped at `u32::MAX`.
// The cast only sees a whole number from 1 to below u32::MAX: it cannot truncate.
#[allow(clippy::cast_possible_truncation)]
fn tier(k: u32) -> u32 {
    let exact = 2f64.powf(f64::from(k) / 4.0).ceil();
    if exact >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        exact as u32
    }
}

/// The tier a delay waits in: the shortest tier at least as long as `delay` (rounded up to whole
/// milliseconds). `None` for a zero delay (no wait at all) or one longer than [`MAX_DELAY`].
pub fn for_delay(delay: Duration) -> Option<u32> {
    if delay.is_zero() || delay > MAX_DELAY {
        return None;
    }
    let millis = delay.as_nanos().div_ceil(1_000_000);
    let tiers = all();
    let index = tiers.partition_point(|&tier| u128::from(tier) < millis);
    tiers.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_ascend_from_one_millisecond_to_the_largest_ttl() {
        let tiers = all();
        assert_eq!(tiers.first(), Some(&1));
        assert_eq!(tiers.last(), Some(&u32::MAX));
        assert!(tiers.windows(2).all(|w| w[0] < w[1]));
        assert!(tiers.len() <= 129, "{} tiers", tiers.len());
    }

    #[test]
    fn a_delay_is_never_shortened_and_stretched_by_less_than_a_fifth() {
        for millis in (1..5_000u64).chain([59_999, 60_000, 3_600_000, 86_400_001]) {
            let delay = Duration::from_millis(millis);
            let tier = for_delay(delay).expect("tier");
            assert!(
                u64::from(tier) >= millis,
                "{millis} ms rounded down to {tier}"
            );
            assert!(
                (tier as f64) <= millis as f64 * 1.19 + 1.0,
                "{millis} ms rounded up to {tier}"
            );
        }
    }

    #[test]
    fn sub_millisecond_parts_round_up() {
        assert_eq!(for_delay(Duration::from_micros(1)), Some(1));
        let tier = for_delay(Duration::from_micros(400_001)).expect("tier");
        assert!(tier > 400, "{tier}");
    }

    #[test]
    fn zero_and_too_long_delays_have_no_tier() {
        assert_eq!(for_delay(Duration::ZERO), None);
        assert_eq!(for_delay(MAX_DELAY), Some(u32::MAX));
        assert_eq!(for_delay(MAX_DELAY + Duration::from_millis(1)), None);
    }
}
