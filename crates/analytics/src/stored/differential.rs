//! The differential check of the scanner against serde_json, shared by the property tests
//! and the fuzz target (`fuzz/fuzz_targets/stored_scan.rs`).

use serde_json::{Map, Value};

use super::{read, read_by_serde, scan, slot, value_span, Scalar, StoredFields, SLOTS};

/// Field names whose value spans are checked.
const SPANNED: &[&str] = &["type", "timestamp", "subject", "x", "rcpt_meta", "", "é"];

/// A value as [`Scalar::to_value`] shows it.
fn as_scalar(value: &Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Null => value.clone(),
        _ => Value::Bool(false),
    }
}

/// Checks every reader of `input` against serde_json and panics where one disagrees: the
/// scanner reads only what serde_json reads, to the same fields; [`read`], [`StoredFields`]
/// and [`value_span`] give what the value tree gives. Returns whether the scanner read it.
pub fn check(input: &[u8]) -> bool {
    let shown = String::from_utf8_lossy(input);
    let fast = scan::<SLOTS>(input, slot);
    let slow = read_by_serde::<SLOTS>(input, &slot);
    if let Some(fast) = &fast {
        assert_eq!(Some(fast), slow.as_ref().ok(), "scanned {shown}");
    }
    match (read::<SLOTS>(input, slot), &slow) {
        (Ok(read), Ok(slow)) => assert_eq!(&read, slow, "{shown}"),
        (Err(read), Err(slow)) => assert_eq!(read.to_string(), slow.to_string(), "{shown}"),
        (read, slow) => panic!("read {read:?}, serde {slow:?}: {shown}"),
    }

    // The value tree also refuses numbers beyond `f64` (`1e400`), which serde_json's raw and
    // skipped values accept, and so the scanner does: compare where the tree reads the input.
    let tree = serde_json::from_slice::<Map<String, Value>>(input);
    let (Ok(tree), Ok(text)) = (tree, std::str::from_utf8(input)) else {
        return fast.is_some();
    };
    let fields = StoredFields::read(input).expect("serde_json read it");
    let fields_text = StoredFields::read_text(text).expect("serde_json read it");
    for (name, value) in &tree {
        let Some(index) = slot(name) else { continue };
        let expected = as_scalar(value);
        for read in [&fields, &fields_text] {
            let got = read.get(index).map(|scalar: Scalar<'_>| scalar.to_value());
            assert_eq!(got.as_ref(), Some(&expected), "field {name:?} of {shown}");
        }
    }
    for name in SPANNED {
        if let Some(span) = value_span(text, name) {
            let value: Value = serde_json::from_str(&text[span]).expect("a whole value");
            assert_eq!(Some(&value), tree.get(*name), "span of {name:?} in {shown}");
        }
    }
    fast.is_some()
}
