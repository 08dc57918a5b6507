//! The fast path's differential check, for tests: [`assert_matches_reference`] runs a line
//! through the fast path, both public entry points and the value-tree path they stand in
//! for, and asserts that they agree. This crate's tests use it on hand-written and generated
//! lines; the simulator's tests (feature `testing`) on simulated events. Not part of the API.

use serde_json::Value;

use crate::raw_ingest::normalize;
use crate::validate::validate;
use crate::{normalize_ingest_line, Event, EventType, ParseError};

/// What the value-tree path makes of `line`: type, seconds and storage bytes.
pub fn reference(line: &[u8]) -> Result<(EventType, i64, Vec<u8>), ParseError> {
    let validated = validate(serde_json::from_slice(line)?)?;
    let bytes = serde_json::to_vec(&validated.fields).expect("a map serialises");
    Ok((validated.event_type, validated.timestamp, bytes))
}

/// `bytes` as text, for failure messages.
pub fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that the fast path and both public entry points agree with the value-tree path
/// on `line` (same storage bytes, or the same error), and returns whether the fast path took
/// the line itself.
#[track_caller]
pub fn assert_matches_reference(line: &[u8]) -> bool {
    let expected = reference(line);
    let fast = normalize(line);
    if let Some(fast) = &fast {
        let Ok((event_type, timestamp, bytes)) = &expected else {
            panic!("fast path accepted a rejected line: {}", shown(line));
        };
        assert_eq!(shown(&fast.bytes), shown(bytes), "line: {}", shown(line));
        assert_eq!(
            (fast.event_type, fast.timestamp),
            (*event_type, *timestamp),
            "line: {}",
            shown(line)
        );
        // Equal bytes read back to equal values, keys in the same order; checked all the same.
        let fast_value: Value = serde_json::from_slice(&fast.bytes).expect("valid JSON");
        let expected_value: Value = serde_json::from_slice(bytes).expect("valid JSON");
        assert_eq!(fast_value, expected_value);
    }

    let public = normalize_ingest_line(line);
    let parsed = Event::parse_ingest(line);
    match (&expected, public, parsed) {
        (Ok((event_type, timestamp, bytes)), Ok((public_type, public_bytes)), Ok(event)) => {
            assert_eq!(public_type, *event_type);
            assert_eq!(shown(&public_bytes), shown(bytes), "line: {}", shown(line));
            assert_eq!(event.event_type(), *event_type);
            assert_eq!(event.timestamp(), *timestamp);
            assert_eq!(shown(&event.to_json_bytes()), shown(bytes));
            let value: Value = serde_json::from_slice(line).expect("valid JSON");
            let value_tree = Event::from_value(value).expect("a valid event");
            assert_eq!(event, value_tree, "line: {}", shown(line));
            let reread = Event::from_stored(bytes).expect("storage form reads back");
            let keys = |event: &Event| event.fields().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&event), keys(&reread), "line: {}", shown(line));
            assert_eq!(event, reread);
        }
        (Err(error), Err(public_error), Err(parse_error)) => {
            for other in [&public_error, &parse_error] {
                assert_eq!(
                    other.to_string(),
                    error.to_string(),
                    "line: {}",
                    shown(line)
                );
                assert_eq!(other.field(), error.field());
            }
        }
        (expected, public, parsed) => panic!(
            "paths disagree on {}: reference {:?}, normalize_ingest_line {:?}, parse_ingest {:?}",
            shown(line),
            expected.as_ref().map(|(_, _, bytes)| shown(bytes)),
            public.map(|(_, bytes)| shown(&bytes)),
            parsed.map(|event| shown(&event.to_json_bytes())),
        ),
    }
    fast.is_some()
}
