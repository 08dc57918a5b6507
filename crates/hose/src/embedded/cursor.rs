//! Cursor files: a subscriber's durable acknowledged position.
//!
//! Format (16 bytes): `b"EHC1"`, the position as u64 little-endian, CRC32 of the first 12 bytes.

use std::path::Path;

use crate::embedded::layout::write_atomically;
use crate::HoseError;

const CURSOR_MAGIC: &[u8; 4] = b"EHC1";
const CURSOR_LEN: usize = 16;

fn encode(position: u64) -> [u8; CURSOR_LEN] {
    let mut bytes = [0u8; CURSOR_LEN];
    bytes[..4].copy_from_slice(CURSOR_MAGIC);
    bytes[4..12].copy_from_slice(&position.to_le_bytes());
    let crc = crc32fast::hash(&bytes[..12]);
    bytes[12..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// Persists `position` (temp file + fsync + rename). `sync_parent` also makes a newly created file durable.
pub(crate) fn write_cursor(path: &Path, position: u64, sync_parent: bool) -> Result<(), HoseError> {
    write_atomically(path, &encode(position), sync_parent)?;
    Ok(())
}

/// Reads a cursor file, failing with `Corrupt` when it does not verify.
pub(crate) fn read_cursor(path: &Path) -> Result<u64, HoseError> {
    let bytes = std::fs::read(path)?;
    let corrupt = |reason: &str| HoseError::corrupt(path, 0, reason);
    if bytes.len() != CURSOR_LEN || &bytes[..4] != CURSOR_MAGIC {
        return Err(corrupt("not a cursor file"));
    }
    let crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32fast::hash(&bytes[..12]) != crc {
        return Err(corrupt("cursor checksum mismatch"));
    }
    let mut position = [0u8; 8];
    position.copy_from_slice(&bytes[4..12]);
    Ok(u64::from_le_bytes(position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cursor");
        write_cursor(&path, 123_456_789, true).unwrap();
        assert_eq!(read_cursor(&path).unwrap(), 123_456_789);
        write_cursor(&path, 7, false).unwrap();
        assert_eq!(read_cursor(&path).unwrap(), 7);

        let mut bytes = std::fs::read(&path).unwrap();
        bytes[5] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(read_cursor(&path), Err(HoseError::Corrupt { .. })));
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(read_cursor(&path), Err(HoseError::Corrupt { .. })));
    }
}
