//! The retry schedule: how long to wait before each retry of a batch.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Relative jitter applied to each scheduled delay (±20 %).
pub const JITTER: f64 = 0.2;
/// The longest a `Retry-After` header can stretch a delay.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60 * 60);

/// Default delays before retries 1 to 11, in seconds.
const DEFAULT_DELAYS_SECS: [u64; 11] = [
    30,
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    20 * 60,
    30 * 60,
    45 * 60,
    60 * 60,
    2 * 60 * 60,
    3 * 60 * 60,
];

/// The delay before each retry of a batch; the first attempt is immediate.
///
/// The default follows SparkPost's 12 attempts (the first plus 11 retries) within about 8 hours:
///
/// | retry | attempt | delay | cumulative |
/// |---|---|---|---|
/// | 1 | 2 | 30 s | 30 s |
/// | 2 | 3 | 1 min | 1 min 30 s |
/// | 3 | 4 | 2 min | 3 min 30 s |
/// | 4 | 5 | 5 min | 8 min 30 s |
/// | 5 | 6 | 10 min | 18 min 30 s |
/// | 6 | 7 | 20 min | 38 min 30 s |
/// | 7 | 8 | 30 min | 1 h 8 min 30 s |
/// | 8 | 9 | 45 min | 1 h 53 min 30 s |
/// | 9 | 10 | 1 h | 2 h 53 min 30 s |
/// | 10 | 11 | 2 h | 4 h 53 min 30 s |
/// | 11 | 12 | 3 h | 7 h 53 min 30 s |
///
/// Its text form, accepted by [`parse`](Self::parse), is `30s,1m,2m,5m,10m,20m,30m,45m,1h,2h,3h`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// Why a schedule string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The string has no items.
    #[error("retry schedule is empty")]
    Empty,
    /// One comma-separated item is not a duration.
    #[error("invalid retry delay '{item}': {reason}")]
    InvalidItem {
        /// The offending item, trimmed.
        item: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl RetrySchedule {
    /// A schedule with the given delays before retries 1, 2, … (an empty list means no retries).
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// Parses comma-separated humantime durations, e.g. `"1s,2s,4s"` or `"30s, 5m, 1h 30m"`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        if s.trim().is_empty() {
            return Err(ScheduleError::Empty);
        }
        let delays = s
            .split(',')
            .map(str::trim)
            .map(|item| {
                humantime::parse_duration(item).map_err(|e| ScheduleError::InvalidItem {
                    item: item.to_owned(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { delays })
    }

    /// The scheduled delays, before retries 1, 2, ….
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Attempts in total: the first plus one per delay.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// The sum of the scheduled delays (first to last attempt, without jitter).
    pub fn total(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// The delay before attempt `next_attempt` (attempts count from 1, so 2 is the first retry;
    /// attempts 0 and 1 get zero), or `None` once the schedule is exhausted.
    ///
    /// The scheduled delay is scaled by a factor in [0.8, 1.2) taken from `jitter01` in [0, 1)
    /// (values outside are clamped). A `retry_after` longer than that is honoured, but capped at
    /// twice the scheduled delay and at [`RETRY_AFTER_CAP`]; it never shortens the delay.
    pub fn delay_before(
        &self,
        next_attempt: u32,
        jitter01: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let Some(retry) = next_attempt.checked_sub(2) else {
            return Some(Duration::ZERO);
        };
        let scheduled = *self.delays.get(usize::try_from(retry).ok()?)?;
        let jitter01 = if jitter01.is_nan() {
            0.5
        } else {
            jitter01.clamp(0.0, 1.0)
        };
        let factor = 1.0 - JITTER + 2.0 * JITTER * jitter01;
        let jittered =
            Duration::try_from_secs_f64(scheduled.as_secs_f64() * factor).unwrap_or(Duration::MAX);
        let honoured = retry_after
            .map(|wanted| wanted.min(scheduled.saturating_mul(2)).min(RETRY_AFTER_CAP))
            .unwrap_or_default();
        Some(jittered.max(honoured))
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(
            DEFAULT_DELAYS_SECS
                .iter()
                .copied()
                .map(Duration::from_secs)
                .collect(),
        )
    }
}

impl FromStr for RetrySchedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, delay) in self.delays.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", humantime::format_duration(*delay))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn default_has_twelve_attempts_over_seven_to_nine_hours() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 12);
        let total = schedule.total();
        assert!(total >= 7 * HOUR && total <= 9 * HOUR, "{total:?}");
        assert!(
            schedule.delays().windows(2).all(|w| w[0] < w[1]),
            "delays grow"
        );
    }

    #[test]
    fn default_round_trips_through_its_text_form() {
        let text = RetrySchedule::default().to_string();
        assert_eq!(text, "30s,1m,2m,5m,10m,20m,30m,45m,1h,2h,3h");
        assert_eq!(text.parse::<RetrySchedule>(), Ok(RetrySchedule::default()));
    }

    #[test]
    fn parses_humantime_lists() {
        let schedule = RetrySchedule::parse("1s,2s,4s").unwrap();
        assert_eq!(schedule.max_attempts(), 4);
        assert_eq!(schedule.delays(), &[secs(1), secs(2), secs(4)]);
        let spaced = RetrySchedule::parse(" 500ms , 1h 30m ").unwrap();
        assert_eq!(
            spaced.delays(),
            &[Duration::from_millis(500), secs(90 * 60)]
        );
    }

    #[test]
    fn bad_strings_name_the_bad_item() {
        assert_eq!(RetrySchedule::parse(""), Err(ScheduleError::Empty));
        assert_eq!(RetrySchedule::parse("  "), Err(ScheduleError::Empty));
        for (input, bad) in [
            ("1s,2x,4s", "2x"),
            ("1s,,4s", ""),
            ("1s,soon", "soon"),
            ("-1s", "-1s"),
        ] {
            match RetrySchedule::parse(input) {
                Err(ScheduleError::InvalidItem { item, .. }) => assert_eq!(item, bad, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
        let message = RetrySchedule::parse("1s,2x").unwrap_err().to_string();
        assert!(message.contains("'2x'"), "{message}");
    }

    #[test]
    fn first_attempt_is_immediate_and_exhaustion_is_none() {
        let schedule = RetrySchedule::parse("1s,2s,4s").unwrap();
        assert_eq!(schedule.delay_before(1, 0.5, None), Some(Duration::ZERO));
        assert_eq!(schedule.delay_before(0, 0.5, None), Some(Duration::ZERO));
        assert_eq!(schedule.delay_before(2, 0.5, None), Some(secs(1)));
        assert_eq!(schedule.delay_before(4, 0.5, None), Some(secs(4)));
        assert_eq!(schedule.delay_before(5, 0.5, None), None);
        assert_eq!(schedule.delay_before(u32::MAX, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let schedule = RetrySchedule::parse("100s").unwrap();
        assert_eq!(schedule.delay_before(2, 0.0, None), Some(secs(80)));
        assert_eq!(schedule.delay_before(2, 0.5, None), Some(secs(100)));
        let high = schedule.delay_before(2, 0.999_999, None).unwrap();
        assert!(high < secs(120) && high > secs(119), "{high:?}");
        for j in [-3.0, 0.0, 0.1, 0.37, 0.5, 0.92, 1.0, 7.0, f64::NAN] {
            let d = schedule.delay_before(2, j, None).unwrap();
            assert!(d >= secs(80) && d <= secs(120), "{j}: {d:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_capped() {
        let schedule = RetrySchedule::parse("100s,2h").unwrap();
        // Shorter than the jittered delay: ignored.
        assert_eq!(
            schedule.delay_before(2, 0.5, Some(secs(7))),
            Some(secs(100))
        );
        // Longer: honoured.
        assert_eq!(
            schedule.delay_before(2, 0.5, Some(secs(150))),
            Some(secs(150))
        );
        // Capped at twice the scheduled delay.
        assert_eq!(
            schedule.delay_before(2, 0.5, Some(secs(1000))),
            Some(secs(200))
        );
        // Capped at one hour, which here is below the scheduled delay: the schedule wins.
        assert_eq!(
            schedule.delay_before(3, 0.5, Some(10 * HOUR)),
            Some(2 * HOUR)
        );
        let one_hour_cap = RetrySchedule::parse("50m").unwrap();
        assert_eq!(
            one_hour_cap.delay_before(2, 0.5, Some(10 * HOUR)),
            Some(HOUR)
        );
    }
}
