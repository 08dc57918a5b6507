//! Opening an existing log: continuity checks and torn-tail repair of the active segment.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use crate::embedded::frame::{self, FrameError, HEADER_LEN, MAGIC};
use crate::embedded::layout::{sync_dir, Layout};
use crate::HoseError;

/// The shape of the log found on disk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RecoveredLog {
    /// Start offsets of all segments, ascending (the last one is the active segment).
    pub(crate) starts: Vec<u64>,
    /// Committed end offset of the log.
    pub(crate) end: u64,
}

/// Validates the segment files and repairs a torn tail of the active segment; creates segment 0 for a
/// fresh directory.
pub(crate) fn recover_log(layout: &Layout) -> Result<RecoveredLog, HoseError> {
    let starts = layout.list_segments()?;
    let Some(&last) = starts.last() else {
        File::create(layout.segment(0))?.sync_all()?;
        sync_dir(&layout.segments_dir())?;
        return Ok(RecoveredLog {
            starts: vec![0],
            end: 0,
        });
    };
    for pair in starts.windows(2) {
        let path = layout.segment(pair[0]);
        let expected = pair[1] - pair[0];
        let actual = fs::metadata(&path)?.len();
        if actual != expected {
            return Err(HoseError::corrupt(
                path,
                actual.min(expected),
                format!("sealed segment holds {actual} bytes but the next segment starts after {expected}"),
            ));
        }
    }
    let valid_len = repair_tail(&layout.segment(last))?;
    Ok(RecoveredLog {
        starts,
        end: last + valid_len,
    })
}

/// Scans the active segment record by record. At the first invalid record: if a valid record follows, the
/// damage is inside the log and reported as `Corrupt`; otherwise it is a torn or garbage tail from an
/// interrupted write, which is cut off. Returns the valid length. The active segment is bounded by the
/// segment size plus one record, so it is read whole.
fn repair_tail(path: &Path) -> Result<u64, HoseError> {
    let data = fs::read(path)?;
    let mut at = 0usize;
    while at < data.len() {
        match check_record(&data[at..]) {
            Ok(len) => at += len,
            Err(reason) => {
                if let Some(next) = find_valid_record(&data, at + 1) {
                    return Err(HoseError::corrupt_by(
                        path,
                        at as u64,
                        format!("{reason}, yet a valid record follows at offset {next}"),
                        reason,
                    ));
                }
                tracing::warn!(
                    segment = %path.display(),
                    offset = at,
                    cut_bytes = data.len() - at,
                    %reason,
                    "truncating torn tail of the hose log"
                );
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(at as u64)?;
                file.sync_all()?;
                break;
            }
        }
    }
    Ok(at as u64)
}

/// Length of the valid record at the start of `bytes`, or why it is not one.
fn check_record(bytes: &[u8]) -> Result<usize, FrameError> {
    let header = frame::parse_header(bytes)?;
    let len = usize::try_from(header.record_len())
        .map_err(|_| FrameError::TooLong(header.record_len()))?;
    let payload = bytes.get(HEADER_LEN..len).ok_or(FrameError::CutShort {
        len,
        available: bytes.len(),
    })?;
    if !frame::checksum_matches(&header, payload) {
        return Err(FrameError::ChecksumMismatch);
    }
    Ok(len)
}

/// Offset of the first checksum-valid record starting at or after `from`.
fn find_valid_record(data: &[u8], from: usize) -> Option<usize> {
    (from..data.len())
        .filter(|&i| data[i] == MAGIC)
        .find(|&i| frame::valid_record_at(&data[i..]))
}
