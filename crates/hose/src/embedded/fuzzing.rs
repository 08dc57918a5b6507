//! Entry points for the fuzz targets in `fuzz/` and the frame's property tests: records read
//! as the segment reader reads them, with what a decoded record promises checked.

use crate::embedded::frame::{
    checksum_matches, decode_payload, encode_record, parse_header, raw_size, CRC_COVERED,
    HEADER_LEN,
};
use crate::Message;

/// Builds the record of `messages` (zstd at `level`, when given and smaller).
pub fn encode(messages: &[Message], level: Option<i32>) -> std::io::Result<Vec<u8>> {
    encode_record(messages, level)
}

/// Sets the checksum the start of `record` needs to pass (over everything after the header),
/// so that what comes after the checksum is reached too.
pub fn reseal(record: &mut [u8]) {
    if record.len() < HEADER_LEN {
        return;
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&record[..CRC_COVERED]);
    hasher.update(&record[HEADER_LEN..]);
    let crc = hasher.finalize();
    record[CRC_COVERED..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
}

/// Reads the record at the start of `bytes` as the segment reader does (header, then the
/// payload it names, checksum, decoding), or `None` where the reader reports corruption.
/// Panics if a decoded record breaks its header's promises.
pub fn read_record(bytes: &[u8]) -> Option<Vec<Message>> {
    let header = parse_header(bytes).ok()?;
    let payload = bytes
        .get(HEADER_LEN..)?
        .get(..header.payload_len as usize)?;
    if !checksum_matches(&header, payload) {
        return None;
    }
    let messages = decode_payload(&header, payload.to_vec()).ok()?;
    assert_eq!(messages.len(), header.message_count() as usize);
    assert_eq!(raw_size(&messages), u64::from(header.raw_len()));
    Some(messages)
}
