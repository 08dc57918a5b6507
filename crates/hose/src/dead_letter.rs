//! Dead letters: messages a subscriber can never process, set aside with the reason so that
//! the subscriber goes on with the next one and an operator can inspect, retry or drop them.
//! Nothing is dropped silently: a message leaves a subscriber's dead letters only by a retry
//! (back to that subscriber) or an explicit drop.

use sha2::{Digest, Sha256};

use crate::Message;

/// A message a subscriber could not process, as it hands it to
/// [`Subscription::dead_letter`](crate::Subscription::dead_letter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The message, exactly as delivered.
    pub message: Message,
    /// The attempt its delivery carried (0 for a stream record), restored on a retry.
    pub attempt: u32,
    /// Why it could not be processed.
    pub reason: String,
}

/// One dead letter of one subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// Identifies it within its subscriber's dead letters: derived from its content, so the
    /// same message set aside twice (its delivery came again after a crash) is one dead letter.
    pub id: String,
    /// Why it was set aside.
    pub reason: String,
    /// When it was set aside, Unix milliseconds (`None` where the backend did not record it).
    pub dead_at_ms: Option<u64>,
    /// The attempt a retry delivers it with.
    pub attempt: u32,
    /// What was set aside: one message, or on RabbitMQ a whole batch the broker moved aside
    /// after too many redeliveries.
    pub messages: Vec<Message>,
}

/// Some of a subscriber's dead letters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadLetterPage {
    /// The oldest ones, up to the limit asked for.
    pub letters: Vec<DeadLetter>,
    /// How many the subscriber has in all.
    pub total: u64,
}

/// What to do with a dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Deliver it to its subscriber again (now, with the attempt it had).
    Retry,
    /// Delete it for good.
    Drop,
}

/// The id of a dead letter holding `parts` (concatenated): 32 hex digits of their SHA-256.
pub fn dead_letter_id<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `id` has the form [`dead_letter_id`] gives (so it can name a file).
pub fn is_dead_letter_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_derived_from_the_content_and_its_boundaries() {
        let one = dead_letter_id([&b"ab"[..], b"c"]);
        assert!(is_dead_letter_id(&one), "{one}");
        assert_eq!(one, dead_letter_id([&b"ab"[..], b"c"]));
        assert_ne!(one, dead_letter_id([&b"a"[..], b"bc"]));
        assert!(!is_dead_letter_id("../../etc/passwd"));
        assert!(!is_dead_letter_id(&one.to_uppercase()));
        assert!(!is_dead_letter_id(&one[1..]));
    }
}
