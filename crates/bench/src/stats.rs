//! Latency statistics.

use std::time::Duration;

/// The `p`-quantile (0–1) of `sorted` latencies (nearest rank); zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // `as` saturates (NaN and negatives give 0), and the rank is clamped next.
    #[allow(clippy::cast_possible_truncation)]
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}
