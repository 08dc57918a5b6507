//! Ingest scope: a subaccount key's lines are stamped with its id or refused, times outside
//! the window are refused, and the fast and value-tree paths agree on both.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use eventhose_model::{normalize_scoped_line, IngestScope, ParseError};
use serde_json::Value;

const NOW: i64 = 1_800_000_000;

fn scope(subaccount: Option<u64>) -> IngestScope {
    IngestScope {
        subaccount,
        earliest: NOW - 100,
        latest: NOW + 10,
    }
}

/// A delivery line at `at`, with extra members; `"event_id":null` sends it down the
/// value-tree path, a given id keeps it on the fast path.
fn line(at: i64, extra: &str, fast: bool) -> Vec<u8> {
    let id = if fast { r#""e1""# } else { "null" };
    format!(
        r#"{{"type":"delivery","timestamp":{at},"event_id":{id},"message_id":"m","rcpt_to":"a@b.example"{extra}}}"#
    )
    .into_bytes()
}

fn stored(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn a_line_without_subaccount_is_stamped_with_the_keys_on_both_paths() {
    for fast in [true, false] {
        let (_, bytes) = normalize_scoped_line(&line(NOW, "", fast), &scope(Some(3))).unwrap();
        assert_eq!(stored(&bytes)["subaccount_id"], "3", "fast path: {fast}");
        let (_, bytes) = normalize_scoped_line(&line(NOW, "", fast), &scope(None)).unwrap();
        assert!(stored(&bytes).get("subaccount_id").is_none());
        // A known field set to null is dropped, so it is stamped too.
        let (_, bytes) = normalize_scoped_line(
            &line(NOW, r#","subaccount_id":null"#, fast),
            &scope(Some(3)),
        )
        .unwrap();
        assert_eq!(stored(&bytes)["subaccount_id"], "3");
    }
}

#[test]
fn a_subaccount_key_cannot_name_another_account_on_either_path() {
    for fast in [true, false] {
        for other in [r#","subaccount_id":7"#, r#","subaccount_id":"0""#] {
            let error =
                normalize_scoped_line(&line(NOW, other, fast), &scope(Some(3))).unwrap_err();
            assert!(
                matches!(error, ParseError::ForeignSubaccount { own: 3, .. }),
                "{error}"
            );
            assert_eq!(error.field(), Some("subaccount_id"));
        }
        let (_, bytes) = normalize_scoped_line(
            &line(NOW, r#","subaccount_id":"03""#, fast),
            &scope(Some(3)),
        )
        .unwrap();
        assert_eq!(stored(&bytes)["subaccount_id"], "3");
    }
}

#[test]
fn subaccount_ids_outside_the_range_are_refused_on_both_paths() {
    for fast in [true, false] {
        for bad in ["18446744073709551615", "2147483648", "-1"] {
            let extra = format!(r#","subaccount_id":"{bad}""#);
            let error = normalize_scoped_line(&line(NOW, &extra, fast), &scope(None)).unwrap_err();
            assert!(
                matches!(error, ParseError::SubaccountOutOfRange { .. }),
                "{bad}: {error}"
            );
        }
        let extra = r#","subaccount_id":2147483647"#;
        assert!(normalize_scoped_line(&line(NOW, extra, fast), &scope(None)).is_ok());
    }
}

#[test]
fn the_time_window_is_inclusive_on_both_paths() {
    for fast in [true, false] {
        for at in [NOW - 100, NOW, NOW + 10] {
            assert!(normalize_scoped_line(&line(at, "", fast), &scope(None)).is_ok());
        }
        for at in [NOW - 101, NOW + 11, 0] {
            let error = normalize_scoped_line(&line(at, "", fast), &scope(None)).unwrap_err();
            assert!(matches!(error, ParseError::OutsideWindow { .. }), "{error}");
            assert_eq!(error.field(), Some("timestamp"));
            assert!(error.to_string().contains("2027-01-15T08:"), "{error}");
        }
    }
}
