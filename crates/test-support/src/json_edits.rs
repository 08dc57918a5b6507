//! Byte edits of JSON text, for differential property tests of hand-written parsers: each
//! edit replaces, deletes or inserts one byte, chosen mostly among those that matter to JSON
//! and UTF-8.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

/// One edit: where, what (0 replace, 1 delete, 2 insert) and which byte.
pub type Edit = (Index, u8, u8);

/// One to three edits.
pub fn edits() -> BoxedStrategy<Vec<Edit>> {
    let byte = prop_oneof![
        3 => select(&b"{}[]\",:\\ \n0-1.eE+tfnulx\x00\x1f"[..]),
        // UTF-8 lead and continuation bytes, an invalid byte, and a surrogate's first bytes.
        1 => select(&[0xc3u8, 0xa9, 0xff, 0x80, 0xed, 0xa0][..]),
        1 => any::<u8>(),
    ];
    vec((any::<Index>(), 0u8..3, byte), 1..4).boxed()
}

/// `text` with `edits` applied in order (an edit of empty text inserts its byte).
pub fn edited(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for (at, op, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let at = at.index(bytes.len());
        match op {
            0 => bytes[at] = *byte,
            1 => drop(bytes.remove(at)),
            _ => bytes.insert(at, *byte),
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn edits_change_the_text_and_empty_text_grows() {
        let mut runner = TestRunner::deterministic();
        let changed = (0..200)
            .filter(|_| {
                let edits = edits().new_tree(&mut runner).unwrap().current();
                edited("{\"a\":1}", &edits) != b"{\"a\":1}"
            })
            .count();
        assert!(
            changed > 150,
            "only {changed} of 200 edits changed the text"
        );
        let edits = edits().new_tree(&mut runner).unwrap().current();
        assert!(!edited("", &edits).is_empty());
    }
}
