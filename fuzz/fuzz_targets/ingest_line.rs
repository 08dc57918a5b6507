//! An ingest line through the fast path (`normalize_ingest_line`, which falls back to the
//! value tree where the fast path declines) and through `Event::parse_ingest`, against the
//! value-tree path (`serde_json` then `Event::from_value`): the same accept/reject decision,
//! the same error and field, the same storage bytes.

#![no_main]

use eventhose_model::{normalize_ingest_line, Event, ParseError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let shown = String::from_utf8_lossy(line);
    let reference = serde_json::from_slice(line)
        .map_err(ParseError::from)
        .and_then(|value| Event::from_value(value));
    let fast = normalize_ingest_line(line);
    let parsed = Event::parse_ingest(line);
    match (&reference, &fast, &parsed) {
        (Ok(event), Ok((event_type, bytes)), Ok(parsed)) => {
            let expected = event.to_json_bytes();
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&expected),
                "line: {shown}"
            );
            assert_eq!(*event_type, event.event_type(), "line: {shown}");
            assert!(parsed == event, "parse_ingest differs on {shown}");
            let reread = Event::from_stored(&expected).expect("the storage form reads back");
            assert!(
                &reread == event,
                "the storage form reads back differently: {shown}"
            );
        }
        (Err(error), Err(fast_error), Err(parse_error)) => {
            for other in [fast_error, parse_error] {
                assert_eq!(other.to_string(), error.to_string(), "line: {shown}");
                assert_eq!(other.field(), error.field(), "line: {shown}");
            }
        }
        _ => panic!(
            "paths disagree on {shown}: value tree {}, fast path {}, parse_ingest {}",
            reference.is_ok(),
            fast.is_ok(),
            parsed.is_ok()
        ),
    }
});
