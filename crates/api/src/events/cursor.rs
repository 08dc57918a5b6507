//! The opaque `cursor` of `links.next`: the store's [`EventCursor`] as
//! `base64url("e2:<timestamp>:<snapshot>:<seq>")`, without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use eventhose_analytics::EventCursor;

/// Cursors of earlier versions (`e1`, which named an event id) are refused as malformed.
const VERSION: &str = "e2";

/// The token of `cursor`.
pub(crate) fn encode(cursor: &EventCursor) -> String {
    let text = format!(
        "{VERSION}:{}:{}:{}",
        cursor.timestamp, cursor.snapshot, cursor.seq
    );
    URL_SAFE_NO_PAD.encode(text)
}

/// Reads a token made by [`encode`]; `None` for anything else.
pub(crate) fn decode(token: &str) -> Option<EventCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != VERSION {
        return None;
    }
    let timestamp = parts.next()?.parse().ok()?;
    let snapshot = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(EventCursor {
        timestamp,
        seq,
        snapshot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let cursor = EventCursor {
            timestamp: 1_700_000_000,
            seq: 17,
            snapshot: 42,
        };
        let token = encode(&cursor);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode(&token), Some(cursor));
        let forged = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for bad in [
            "initial".to_string(),
            "!!!".to_string(),
            String::new(),
            forged("e2:1:2:"),
            forged("e2:x:2:3"),
            forged("e2:1:-2:3"),
            forged("e2:1:2:x"),
            forged("e2:1:2:3:4"),
            forged("e1:1:2:id"),
            forged("e2:1:2"),
        ] {
            assert_eq!(decode(&bad), None, "{bad}");
        }
    }

    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::*;

        /// Texts near a cursor's: its parts, separators, signs, spaces, other versions.
        fn near_cursor_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                select(&["e2", "e1", ":", "-", "+", " ", "0", "00", "\u{0}", "é"][..])
                    .prop_map(str::to_owned),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<u64>().prop_map(|n| n.to_string()),
                Just("18446744073709551616".to_owned()),
            ];
            vec(piece, 0..8).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(eventhose_test_support::proptest_config(1_000))]

            #[test]
            fn every_cursor_round_trips(timestamp in any::<i64>(), seq in any::<u64>(), snapshot in any::<u64>()) {
                let cursor = EventCursor { timestamp, seq, snapshot };
                let token = encode(&cursor);
                prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                prop_assert_eq!(decode(&token), Some(cursor));
            }

            /// Whatever a token decodes to is a cursor whose own token decodes to it again.
            #[test]
            fn any_token_is_read_without_a_panic(text in near_cursor_text(), raw in ".{0,24}") {
                for token in [URL_SAFE_NO_PAD.encode(&text), raw] {
                    if let Some(cursor) = decode(&token) {
                        prop_assert_eq!(decode(&encode(&cursor)), Some(cursor));
                    }
                }
            }
        }
    }
}
