//! Encoding and validation of log records (the frame format is described in the module docs of `embedded`).

use bytes::Bytes;

use crate::embedded::codec;
use crate::Message;

/// Why bytes of a segment are not a valid log record. Reported as the source of a
/// [`HoseError::Corrupt`](crate::HoseError::Corrupt).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer bytes than a record header.
    #[error("truncated record header")]
    TruncatedHeader,
    /// The first byte is not the record magic.
    #[error("bad record magic {0:#04x}")]
    BadMagic(u8),
    /// The codec byte names no known codec.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// Header bits that must be zero are not.
    #[error("reserved header bits set")]
    ReservedBits,
    /// An uncompressed record whose stored and raw lengths differ.
    #[error("raw record with mismatched lengths")]
    RawLengthMismatch,
    /// More messages than the payload has room for.
    #[error("message count exceeds payload")]
    CountExceedsPayload,
    /// A record longer than this machine can address.
    #[error("record of {0} bytes exceeds the address space")]
    TooLong(u64),
    /// The bytes end before the record does.
    #[error("record of {len} bytes is cut short at {available} bytes")]
    CutShort {
        /// The record's length, header included.
        len: usize,
        /// The bytes there are.
        available: usize,
    },
    /// The payload does not match the header's checksum.
    #[error("record checksum mismatch")]
    ChecksumMismatch,
    /// zstd could not decompress the payload.
    #[error("zstd decompression failed: {0}")]
    Decompress(#[source] std::io::Error),
    /// The payload decompressed to another length than the header says.
    #[error("decompressed {written} bytes, header says {expected}")]
    DecompressedLength {
        /// The bytes decompressed.
        written: usize,
        /// The raw length in the header.
        expected: u32,
    },
    /// The payload ends inside a message's length prefix.
    #[error("truncated message length")]
    TruncatedLength,
    /// A message's length prefix points past the payload.
    #[error("message overruns payload")]
    MessageOverrun,
    /// The payload holds another number of messages than the header says.
    #[error("payload holds {found} messages, header says {expected}")]
    MessageCount {
        /// The messages found.
        found: usize,
        /// The count in the header.
        expected: u32,
    },
}

/// First byte of every record: identifies the format and its version.
pub(crate) const MAGIC: u8 = 0xE1;
/// Size of the fixed record header.
pub(crate) const HEADER_LEN: usize = 20;
/// Largest value of a 32-bit length field.
pub(crate) const MAX_FIELD: u64 = u32::MAX as u64;
/// Size of the length prefix in front of each message inside the payload.
const LENGTH_PREFIX: usize = 4;
/// Header bytes covered by the CRC (everything before the CRC field).
pub(crate) const CRC_COVERED: usize = 16;

const CODEC_RAW: u8 = 0;
const CODEC_ZSTD: u8 = 1;

/// A parsed, plausibility-checked record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    codec: u8,
    /// Stored payload length in bytes.
    pub(crate) payload_len: u32,
    raw_len: u32,
    message_count: u32,
    crc: u32,
    covered: [u8; CRC_COVERED],
}

impl Header {
    /// Total record length: header plus stored payload.
    pub(crate) fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.payload_len)
    }

    /// Uncompressed payload length in bytes.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn raw_len(&self) -> u32 {
        self.raw_len
    }

    /// Messages the record holds.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn message_count(&self) -> u32 {
        self.message_count
    }
}

/// Uncompressed size of a batch as stored in a record payload (each message plus its length prefix).
pub(crate) fn raw_size(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|m| (LENGTH_PREFIX + m.len()) as u64)
        .sum()
}

/// A size or count as a 32-bit header or length-prefix field, or an error when it does not fit.
fn length_field(len: u64, what: &str) -> std::io::Result<u32> {
    u32::try_from(len).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} ({len}) does not fit a 32-bit record field"),
        )
    })
}

/// Builds a complete record (header and payload) for `messages`, compressing with zstd at `level` when given
/// and when it makes the payload smaller. The caller has checked that the raw size fits a 32-bit field (a
/// batch that does not is refused with an error).
pub(crate) fn encode_record(messages: &[Message], level: Option<i32>) -> std::io::Result<Vec<u8>> {
    let raw_field = length_field(raw_size(messages), "record payload size")?;
    let raw_len = raw_field as usize;
    let count_field = length_field(messages.len() as u64, "message count")?;
    let mut raw = Vec::with_capacity(raw_len);
    for message in messages {
        raw.extend_from_slice(&length_field(message.len() as u64, "message size")?.to_le_bytes());
        raw.extend_from_slice(message);
    }

    let mut record = Vec::new();
    let mut codec = CODEC_RAW;
    if let Some(level) = level {
        record.resize(HEADER_LEN + zstd::zstd_safe::compress_bound(raw_len), 0);
        let compressed = codec::compress_into(level, &raw, &mut record[HEADER_LEN..])?;
        if compressed < raw_len {
            record.truncate(HEADER_LEN + compressed);
            codec = CODEC_ZSTD;
        }
    }
    if codec == CODEC_RAW {
        record.clear();
        record.reserve_exact(HEADER_LEN + raw_len);
        record.resize(HEADER_LEN, 0);
        record.extend_from_slice(&raw);
    }

    let payload_len = length_field((record.len() - HEADER_LEN) as u64, "stored payload size")?;
    record[0] = MAGIC;
    record[1] = codec;
    record[2..4].copy_from_slice(&0u16.to_le_bytes());
    record[4..8].copy_from_slice(&payload_len.to_le_bytes());
    record[8..12].copy_from_slice(&raw_field.to_le_bytes());
    record[12..16].copy_from_slice(&count_field.to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&record[..CRC_COVERED]);
    hasher.update(&record[HEADER_LEN..]);
    let crc = hasher.finalize();
    record[16..20].copy_from_slice(&crc.to_le_bytes());
    Ok(record)
}

/// Parses a header, rejecting anything that cannot start a valid record. Sizes are not held to the current
/// configuration: a record written under a larger `max_record_bytes` must stay readable, and a garbage
/// length is caught by the checksum or by running past the end of the data.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, FrameError> {
    let Some(bytes) = bytes.get(..HEADER_LEN) else {
        return Err(FrameError::TruncatedHeader);
    };
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if bytes[0] != MAGIC {
        return Err(FrameError::BadMagic(bytes[0]));
    }
    let codec = bytes[1];
    if codec != CODEC_RAW && codec != CODEC_ZSTD {
        return Err(FrameError::UnknownCodec(codec));
    }
    if bytes[2] != 0 || bytes[3] != 0 {
        return Err(FrameError::ReservedBits);
    }
    let payload_len = u32_at(4);
    let raw_len = u32_at(8);
    let message_count = u32_at(12);
    if codec == CODEC_RAW && payload_len != raw_len {
        return Err(FrameError::RawLengthMismatch);
    }
    if u64::from(message_count) * LENGTH_PREFIX as u64 > u64::from(raw_len) {
        return Err(FrameError::CountExceedsPayload);
    }
    let mut covered = [0u8; CRC_COVERED];
    covered.copy_from_slice(&bytes[..CRC_COVERED]);
    Ok(Header {
        codec,
        payload_len,
        raw_len,
        message_count,
        crc: u32_at(16),
        covered,
    })
}

/// Whether `payload` matches the header's checksum.
pub(crate) fn checksum_matches(header: &Header, payload: &[u8]) -> bool {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header.covered);
    hasher.update(payload);
    hasher.finalize() == header.crc
}

/// Whether a complete, checksum-valid record starts at the beginning of `bytes`.
pub(crate) fn valid_record_at(bytes: &[u8]) -> bool {
    let Ok(header) = parse_header(bytes) else {
        return false;
    };
    let end = HEADER_LEN + header.payload_len as usize;
    bytes
        .get(HEADER_LEN..end)
        .is_some_and(|payload| checksum_matches(&header, payload))
}

/// Decodes a checksum-verified payload into its messages (sharing one buffer).
pub(crate) fn decode_payload(
    header: &Header,
    payload: Vec<u8>,
) -> Result<Vec<Message>, FrameError> {
    let raw = if header.codec == CODEC_ZSTD {
        let mut raw = Vec::with_capacity(header.raw_len as usize);
        let written = codec::decompress_into(&payload, &mut raw).map_err(FrameError::Decompress)?;
        if written != header.raw_len as usize {
            return Err(FrameError::DecompressedLength {
                written,
                expected: header.raw_len,
            });
        }
        Bytes::from(raw)
    } else {
        Bytes::from(payload)
    };

    let mut messages = Vec::with_capacity(header.message_count as usize);
    let mut at = 0usize;
    while at < raw.len() {
        let prefix = raw
            .get(at..at + LENGTH_PREFIX)
            .ok_or(FrameError::TruncatedLength)?;
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        let start = at + LENGTH_PREFIX;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= raw.len())
            .ok_or(FrameError::MessageOverrun)?;
        messages.push(raw.slice(start..end));
        at = end;
    }
    if messages.len() != header.message_count as usize {
        return Err(FrameError::MessageCount {
            found: messages.len(),
            expected: header.message_count,
        });
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Vec<Message> {
        vec![
            Bytes::from_static(br#"{"type":"delivery","msg_id":"1"}"#),
            Bytes::new(),
            Bytes::from(vec![b'x'; 5000]),
        ]
    }

    fn roundtrip(level: Option<i32>) -> (Vec<u8>, Vec<Message>) {
        let record = encode_record(&batch(), level).unwrap();
        let header = parse_header(&record).unwrap();
        assert_eq!(header.record_len(), record.len() as u64);
        let payload = record[HEADER_LEN..].to_vec();
        assert!(checksum_matches(&header, &payload));
        let messages = decode_payload(&header, payload).unwrap();
        (record, messages)
    }

    #[test]
    fn roundtrips_raw_and_compressed() {
        let (raw_record, raw_messages) = roundtrip(None);
        let (zstd_record, zstd_messages) = roundtrip(Some(1));
        assert_eq!(raw_messages, batch());
        assert_eq!(zstd_messages, batch());
        assert_eq!(raw_record[1], CODEC_RAW);
        assert_eq!(zstd_record[1], CODEC_ZSTD);
        assert!(zstd_record.len() < raw_record.len() / 10);
    }

    #[test]
    fn incompressible_payload_is_stored_raw() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 32) & 0xff) as u8
            })
            .collect();
        let messages = vec![Bytes::from(noise)];
        let record = encode_record(&messages, Some(1)).unwrap();
        assert_eq!(record[1], CODEC_RAW);
        let header = parse_header(&record).unwrap();
        assert_eq!(
            decode_payload(&header, record[HEADER_LEN..].to_vec()).unwrap(),
            messages
        );
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let record = encode_record(&batch(), Some(1)).unwrap();
        for at in 0..record.len() {
            let mut damaged = record.clone();
            damaged[at] ^= 0x40;
            assert!(!valid_record_at(&damaged), "flip at {at} went unnoticed");
        }
        assert!(valid_record_at(&record));
    }

    #[test]
    fn rejects_truncated_records_and_garbage_headers() {
        let record = encode_record(&batch(), None).unwrap();
        assert!(!valid_record_at(&record[..record.len() - 1]));
        assert!(parse_header(&record[..HEADER_LEN - 1]).is_err());
        let mut huge = record.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            !valid_record_at(&huge),
            "a length past the data is not a record"
        );
        assert!(parse_header(&[0u8; HEADER_LEN]).is_err());
    }

    #[test]
    fn each_failed_check_is_named_by_its_error() {
        let record = encode_record(&batch(), None).unwrap();
        let with = |at: usize, byte: u8| {
            let mut edited = record.clone();
            edited[at] = byte;
            parse_header(&edited).unwrap_err()
        };
        assert!(matches!(
            parse_header(&record[..HEADER_LEN - 1]),
            Err(FrameError::TruncatedHeader)
        ));
        let bad_magic = with(0, 0x00);
        assert!(matches!(bad_magic, FrameError::BadMagic(0x00)));
        assert_eq!(bad_magic.to_string(), "bad record magic 0x00");
        assert!(matches!(with(1, 7), FrameError::UnknownCodec(7)));
        assert!(matches!(with(3, 1), FrameError::ReservedBits));
        assert!(matches!(with(8, 0), FrameError::RawLengthMismatch));
        assert!(matches!(with(15, 0xff), FrameError::CountExceedsPayload));

        // A zstd record whose payload is not zstd keeps the decompressor's error.
        let zstd = encode_record(&batch(), Some(1)).unwrap();
        let header = parse_header(&zstd).unwrap();
        let error = decode_payload(&header, vec![0xAB; 64]).unwrap_err();
        assert!(matches!(error, FrameError::Decompress(_)), "{error:?}");
        assert!(std::error::Error::source(&error).is_some());
    }

    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::Index;

        use super::*;
        use crate::embedded::fuzzing::{read_record as read_as_the_reader_does, reseal};
        use eventhose_test_support::proptest_config as config;

        /// Batches of messages, empty ones and compressible ones included.
        fn batch() -> impl Strategy<Value = Vec<Message>> {
            let message = prop_oneof![
                vec(any::<u8>(), 0..64),
                (any::<u8>(), 0usize..2_000).prop_map(|(byte, len)| vec![byte; len]),
                Just(Vec::new()),
            ];
            vec(message.prop_map(Bytes::from), 0..6)
        }

        proptest! {
            #![proptest_config(config(500))]

            #[test]
            fn records_round_trip(messages in batch(), level in prop::option::of(1i32..4)) {
                let record = encode_record(&messages, level).expect("encodes");
                let header = parse_header(&record).expect("a valid header");
                prop_assert_eq!(header.record_len(), record.len() as u64);
                prop_assert!(valid_record_at(&record));
                prop_assert_eq!(read_as_the_reader_does(&record), Some(messages));
            }

            /// Edited records are refused or read whole, never past their bytes, also when
            /// their checksum is made to match.
            #[test]
            fn edited_records_are_read_or_refused(
                messages in batch(),
                level in prop::option::of(1i32..4),
                edits in vec((any::<Index>(), 0u8..3, any::<u8>()), 1..4),
                reseal_after in any::<bool>(),
            ) {
                let mut record = encode_record(&messages, level).expect("encodes");
                for (at, op, byte) in edits {
                    if record.is_empty() {
                        break;
                    }
                    let at = at.index(record.len());
                    match op {
                        0 => record[at] = byte,
                        1 => drop(record.remove(at)),
                        _ => record.insert(at, byte),
                    }
                }
                if reseal_after {
                    reseal(&mut record);
                }
                let _ = valid_record_at(&record);
                let _ = read_as_the_reader_does(&record);
            }

            #[test]
            fn arbitrary_bytes_are_read_or_refused(mut bytes in vec(any::<u8>(), 0..96), magic in any::<bool>()) {
                if magic && bytes.len() >= 4 {
                    bytes[0] = MAGIC;
                    bytes[1] &= 1;
                    bytes[2] = 0;
                    bytes[3] = 0;
                    reseal(&mut bytes);
                }
                let _ = valid_record_at(&bytes);
                let _ = read_as_the_reader_does(&bytes);
            }
        }
    }
}
