//! Reading one committed record from a segment file (blocking; one record in memory at a time).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::embedded::frame::{self, FrameError, HEADER_LEN};
use crate::{HoseError, Message};

/// A record read back from the log.
#[derive(Debug)]
pub(crate) struct ReadRecord {
    pub(crate) messages: Vec<Message>,
    /// Offset just past the record.
    pub(crate) next: u64,
}

/// Reads and verifies the record at log offset `position` from the segment starting at `segment_start`;
/// the record must end at or before the committed `end`.
pub(crate) fn read_record(
    file: &File,
    path: &Path,
    segment_start: u64,
    position: u64,
    end: u64,
) -> Result<ReadRecord, HoseError> {
    let local = position - segment_start;
    let corrupt = |reason: String| HoseError::corrupt(path, local, reason);
    let invalid = |error: FrameError| HoseError::corrupt_by(path, local, error.to_string(), error);
    let mut header = [0u8; HEADER_LEN];
    read_exact_at(file, &mut header, local).map_err(|e| unreadable(e, path, local))?;
    let header = frame::parse_header(&header).map_err(invalid)?;
    let next = position + header.record_len();
    if next > end {
        return Err(corrupt(format!(
            "record ends at {next}, past the committed end {end}"
        )));
    }
    let mut payload = vec![0u8; header.payload_len as usize];
    read_exact_at(file, &mut payload, local + HEADER_LEN as u64)
        .map_err(|e| unreadable(e, path, local))?;
    if !frame::checksum_matches(&header, &payload) {
        return Err(invalid(FrameError::ChecksumMismatch));
    }
    let messages = frame::decode_payload(&header, payload).map_err(invalid)?;
    Ok(ReadRecord { messages, next })
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

/// A committed record that cannot be read in full means the file lost data.
fn unreadable(err: io::Error, path: &Path, offset: u64) -> HoseError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        HoseError::corrupt_by(path, offset, "segment ends inside a committed record", err)
    } else {
        HoseError::Io(err)
    }
}
