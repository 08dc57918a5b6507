//! Event identity: the ids given to events that arrive without one, and the key every
//! subscriber deduplicates by.
//!
//! An event that enters the hose twice (a client's retry, an agent re-reading its log, a
//! broker's redelivery) must be recognised as the same event. An event that names its
//! `event_id` is recognised by it; one that names none gets an id derived from its content,
//! so a retried line gets the same id again.

use xxhash_rust::xxh3::{xxh3_64, Xxh3Default};

/// The longest accepted `event_id`, in characters.
pub const MAX_EVENT_ID_LEN: usize = 128;

/// The id of an event ingested without one: the decimal form of a 64-bit hash of its storage
/// form (`stored`, the normalised object without `event_id`), in the digits-only shape of
/// SparkPost's ids.
///
/// Identical lines get identical ids, which is the point: they are the same event sent twice.
/// Two different events of one account share an id with a chance of about n²/2⁶⁵ for n events
/// in a deduplication window (3·10⁻⁶ at ten million).
pub fn content_event_id(stored: &[u8]) -> String {
    xxh3_64(stored).to_string()
}

/// The key an event is deduplicated by: its account and its `event_id`, hashed to 64 bits.
///
/// The account is part of the key so that one tenant cannot make another's events look like
/// duplicates by sending their ids first. `subaccount` 0 and absent are the primary account.
pub fn event_identity(subaccount: u64, event_id: &str) -> u64 {
    let mut hasher = Xxh3Default::new();
    hasher.update(&subaccount.to_le_bytes());
    hasher.update(event_id.as_bytes());
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_digits_and_follow_the_content() {
        let one = content_event_id(br#"{"type":"delivery","timestamp":"1"}"#);
        assert!(one.bytes().all(|b| b.is_ascii_digit()), "{one}");
        assert_eq!(
            one,
            content_event_id(br#"{"type":"delivery","timestamp":"1"}"#)
        );
        assert_ne!(
            one,
            content_event_id(br#"{"type":"delivery","timestamp":"2"}"#)
        );
    }

    #[test]
    fn identity_includes_the_account() {
        assert_eq!(event_identity(3, "42"), event_identity(3, "42"));
        assert_ne!(event_identity(3, "42"), event_identity(7, "42"));
        assert_ne!(event_identity(3, "42"), event_identity(3, "43"));
    }
}
