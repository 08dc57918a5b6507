//! Cheap free-disk-space check for publish backpressure (one `statvfs` per interval at most).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync_util::lock;
use crate::HoseError;

/// Refuses publishing while free space is below a minimum, reusing a reading for `interval`.
#[derive(Debug)]
pub(crate) struct DiskSpaceGuard {
    path: PathBuf,
    min_free_bytes: u64,
    interval: Duration,
    reading: Mutex<Option<(Instant, u64)>>,
}

impl DiskSpaceGuard {
    pub(crate) fn new(path: PathBuf, min_free_bytes: u64, interval: Duration) -> Self {
        Self {
            path,
            min_free_bytes,
            interval,
            reading: Mutex::new(None),
        }
    }

    /// `DiskFull` when the (possibly cached) free space is below the minimum.
    pub(crate) fn check(&self) -> Result<(), HoseError> {
        if self.min_free_bytes == 0 {
            return Ok(());
        }
        let available = self.available()?;
        if available < self.min_free_bytes {
            return Err(HoseError::DiskFull {
                available_bytes: available,
            });
        }
        Ok(())
    }

    /// Whether more than the minimum is free (at least one byte when there is no minimum):
    /// a write refused for want of space may succeed again.
    pub(crate) fn has_room(&self) -> bool {
        self.available()
            .is_ok_and(|available| available > self.min_free_bytes)
    }

    fn available(&self) -> Result<u64, HoseError> {
        let mut reading = lock(&self.reading);
        if let Some((taken, bytes)) = *reading {
            if taken.elapsed() < self.interval {
                return Ok(bytes);
            }
        }
        let bytes = fs4::available_space(&self.path)?;
        *reading = Some((Instant::now(), bytes));
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_below_minimum_and_allows_when_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let impossible = DiskSpaceGuard::new(dir.path().to_path_buf(), u64::MAX, hour);
        assert!(
            matches!(impossible.check(), Err(HoseError::DiskFull { available_bytes }) if available_bytes > 0)
        );
        assert!(DiskSpaceGuard::new(dir.path().to_path_buf(), 1, hour)
            .check()
            .is_ok());
        assert!(!impossible.has_room());
        assert!(DiskSpaceGuard::new(dir.path().to_path_buf(), 0, hour).has_room());
        assert!(
            DiskSpaceGuard::new(PathBuf::from("/nonexistent/dir"), 0, hour)
                .check()
                .is_ok()
        );
    }
}
