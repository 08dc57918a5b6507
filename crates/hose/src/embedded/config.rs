//! Tunables of the embedded hose.

use std::time::Duration;

use crate::embedded::frame::{HEADER_LEN, MAX_FIELD};
use crate::HoseError;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Configuration of an [`EmbeddedHose`](crate::embedded::EmbeddedHose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// A segment file rolls once it holds at least this many bytes (default 64 MiB).
    pub segment_bytes: u64,
    /// Publishing fails with `Backlogged` when a subscriber lags more than this (default 8 GiB).
    pub max_subscriber_lag_bytes: u64,
    /// Publishing fails with `DiskFull` when less than this is free (default 1 GiB; 0 disables the check).
    pub min_free_disk_bytes: u64,
    /// Whether record payloads are zstd-compressed (default true). A record that does not shrink is stored raw.
    pub compress: bool,
    /// zstd compression level (default 1).
    pub zstd_level: i32,
    /// How often acknowledged cursors are persisted and retention runs (default 100 ms).
    pub cursor_flush_interval: Duration,
    /// Largest record, as the uncompressed size of a batch with its length prefixes (default 64 MiB).
    pub max_record_bytes: u64,
    /// How long a free-disk-space reading is reused (default 1 s).
    pub disk_check_interval: Duration,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 64 * MIB,
            max_subscriber_lag_bytes: 8 * GIB,
            min_free_disk_bytes: GIB,
            compress: true,
            zstd_level: 1,
            cursor_flush_interval: Duration::from_millis(100),
            max_record_bytes: 64 * MIB,
            disk_check_interval: Duration::from_secs(1),
        }
    }
}

impl EmbeddedConfig {
    /// Largest stored payload a record may have: the raw maximum plus zstd's worst-case expansion.
    pub(crate) fn max_stored_payload(&self) -> u64 {
        let raw = usize::try_from(self.max_record_bytes).unwrap_or(usize::MAX);
        let bound = zstd::zstd_safe::compress_bound(raw) as u64;
        bound.max(self.max_record_bytes)
    }

    pub(crate) fn validate(&self) -> Result<(), HoseError> {
        let invalid = |reason: &str| Err(HoseError::InvalidConfig(reason.to_owned()));
        if self.segment_bytes == 0 {
            return invalid("segment_bytes must be positive");
        }
        if self.max_record_bytes == 0 {
            return invalid("max_record_bytes must be positive");
        }
        if self.max_stored_payload() + HEADER_LEN as u64 > MAX_FIELD {
            return invalid(
                "max_record_bytes must stay below 4 GiB including compression overhead",
            );
        }
        if self.cursor_flush_interval.is_zero() {
            return invalid("cursor_flush_interval must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_matches_documented_values() {
        let config = EmbeddedConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.segment_bytes, 64 * MIB);
        assert_eq!(config.max_subscriber_lag_bytes, 8 * GIB);
        assert_eq!(config.min_free_disk_bytes, GIB);
        assert_eq!(config.zstd_level, 1);
        assert_eq!(config.cursor_flush_interval, Duration::from_millis(100));
        assert_eq!(config.max_record_bytes, 64 * MIB);
    }

    #[test]
    fn rejects_unusable_values() {
        let cases = [
            EmbeddedConfig {
                segment_bytes: 0,
                ..Default::default()
            },
            EmbeddedConfig {
                max_record_bytes: 0,
                ..Default::default()
            },
            EmbeddedConfig {
                max_record_bytes: 5 * GIB,
                ..Default::default()
            },
            EmbeddedConfig {
                cursor_flush_interval: Duration::ZERO,
                ..Default::default()
            },
        ];
        for config in cases {
            assert!(
                matches!(config.validate(), Err(HoseError::InvalidConfig(_))),
                "{config:?}"
            );
        }
    }
}
