//! Records of the embedded hose's log. The first byte picks the mode:
//! - bit 2 set: the rest is read as a record, as it is and with its checksum made to match,
//!   as the segment reader reads it (refused or decoded whole, never past its bytes);
//! - otherwise the rest is messages (split at `\n`) encoded raw (bit 0 clear) or with zstd,
//!   which must decode to the same messages; then, when byte 1 asks for edits, the record is
//!   edited at the positions given by the bytes after it (four bytes per edit: position,
//!   operation, byte), resealed when bit 1 is set, and read: refused or decoded whole.

#![no_main]

use bytes::Bytes;
use eventhose_hose::embedded::fuzzing::{encode, read_record, reseal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 4 != 0 {
        let _ = read_record(rest);
        let mut sealed = rest.to_vec();
        reseal(&mut sealed);
        let _ = read_record(&sealed);
        return;
    }
    let (edits, body) = match rest.split_first() {
        Some((&count, after)) => {
            let len = (usize::from(count % 4) * 4).min(after.len());
            after.split_at(len)
        }
        None => (&[][..], rest),
    };
    let messages: Vec<Bytes> = body
        .split(|&b| b == b'\n')
        .map(Bytes::copy_from_slice)
        .collect();
    let level = (mode & 1 != 0).then_some(1);
    let mut record = encode(&messages, level).expect("a batch encodes");
    assert_eq!(read_record(&record).as_ref(), Some(&messages));
    if edits.is_empty() {
        return;
    }
    for edit in edits.chunks_exact(4) {
        if record.is_empty() {
            break;
        }
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % record.len();
        match edit[2] % 3 {
            0 => record[at] = edit[3],
            1 => drop(record.remove(at)),
            _ => record.insert(at, edit[3]),
        }
    }
    if mode & 2 != 0 {
        reseal(&mut record);
    }
    let _ = read_record(&record);
});
