//! The opaque `cursor` of `links.next`: the store's [`EventCursor`] as
//! `base64url("e1:<timestamp>:<snapshot>:<event_id>")`, without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use eventhose_analytics::EventCursor;

const VERSION: &str = "e1";

/// The token of `cursor`.
pub(super) fn encode(cursor: &EventCursor) -> String {
    let text = format!(
        "{VERSION}:{}:{}:{}",
        cursor.timestamp, cursor.snapshot, cursor.event_id
    );
    URL_SAFE_NO_PAD.encode(text)
}

/// Reads a token made by [`encode`]; `None` for anything else.
pub(super) fn decode(token: &str) -> Option<EventCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, ':');
    if parts.next()? != VERSION {
        return None;
    }
    let timestamp = parts.next()?.parse().ok()?;
    let snapshot = parts.next()?.parse().ok()?;
    let event_id = parts.next()?;
    (!event_id.is_empty()).then(|| EventCursor {
        timestamp,
        event_id: event_id.to_owned(),
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
            event_id: "id:with:colons".into(),
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
            forged("e1:1:2:"),
            forged("e1:x:2:id"),
            forged("e1:1:-2:id"),
            forged("e2:1:2:id"),
            forged("e1:1:2"),
        ] {
            assert_eq!(decode(&bad), None, "{bad}");
        }
    }
}
