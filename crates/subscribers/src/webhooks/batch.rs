//! Webhook batches: how events are gathered per webhook, and how a sealed batch is encoded
//! as one hose message (for the durable retry queue).

use std::time::Instant;

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use eventhose_state::Tombstones;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::SubscriberError;

/// What travels with a batch body through the retry queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// Unique batch id, sent as `X-MessageSystems-Batch-ID` and `webhook-id`.
    pub batch_id: String,
    /// The webhook it is for.
    pub webhook_id: String,
    /// When the batch was sealed, unix seconds (batch status `ts`).
    pub created_at: i64,
    /// Events in the batch.
    pub events: u32,
}

/// A sealed batch: header and the JSON array body, exactly as POSTed.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Identity and size.
    pub header: BatchHeader,
    /// `[{"msys":{…}}, …]`
    pub body: Bytes,
}

/// A batch message that cannot be read (a deferred delivery holds one message).
fn unreadable(reason: String) -> SubscriberError {
    SubscriberError::BadMessage { index: 0, reason }
}

impl Batch {
    /// One hose message: the header as a JSON line, then the body.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.body.len() + 128);
        // Serialising a plain struct of strings and integers cannot fail.
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        out.put_slice(&header);
        out.put_u8(b'\n');
        out.put_slice(&self.body);
        out.freeze()
    }

    /// Reads a message written by [`Batch::encode`].
    pub fn decode(message: &Bytes) -> Result<Batch, SubscriberError> {
        let split = message
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| unreadable("webhook batch without header".into()))?;
        let header: BatchHeader = serde_json::from_slice(&message[..split])
            .map_err(|e| unreadable(format!("webhook batch header: {e}")))?;
        Ok(Batch {
            header,
            body: message.slice(split + 1..),
        })
    }
}

impl Batch {
    /// The batch without the events of erased recipients (up to their erasure), or `None`
    /// when no event is left; the batch itself when none is erased. A batch written before an
    /// erasure (a retry, a replay of a failed batch) never sends an erased address again.
    pub fn without_erased(self, tombstones: &Tombstones) -> Result<Option<Batch>, SubscriberError> {
        if tombstones.is_empty() {
            return Ok(Some(self));
        }
        let events: Vec<&RawValue> = serde_json::from_slice(&self.body)
            .map_err(|e| unreadable(format!("webhook batch body: {e}")))?;
        let kept: Vec<&RawValue> = events
            .iter()
            .copied()
            .filter(|event| !names_erased(event, tombstones))
            .collect();
        if kept.len() == events.len() {
            return Ok(Some(self));
        }
        if kept.is_empty() {
            return Ok(None);
        }
        let mut body = BytesMut::with_capacity(self.body.len());
        body.put_u8(b'[');
        for (i, event) in kept.iter().enumerate() {
            if i > 0 {
                body.put_u8(b',');
            }
            body.put_slice(event.get().as_bytes());
        }
        body.put_u8(b']');
        Ok(Some(Batch {
            header: BatchHeader {
                events: u32::try_from(kept.len()).unwrap_or(u32::MAX),
                ..self.header
            },
            body: body.freeze(),
        }))
    }
}

/// Whether one `{"msys":{"<category>":{…}}}` element names an erased recipient at its time.
fn names_erased(element: &RawValue, tombstones: &Tombstones) -> bool {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        msys: HashMap<&'a str, Recipients<'a>>,
    }
    let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(element.get()) else {
        return false;
    };
    envelope.msys.values().any(|event| event.erased(tombstones))
}

/// The fields of a stored event an erasure looks at.
#[derive(Deserialize)]
struct Recipients<'a> {
    #[serde(borrow, default)]
    rcpt_to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    raw_rcpt_to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
}

impl Recipients<'_> {
    fn erased(&self, tombstones: &Tombstones) -> bool {
        erased(
            tombstones,
            self.timestamp.as_deref(),
            [self.rcpt_to.as_deref(), self.raw_rcpt_to.as_deref()],
        )
    }
}

/// Whether an event at `timestamp` (stored form: unix seconds as text) naming `recipients`
/// belongs to a recipient erased after it.
pub(crate) fn erased(
    tombstones: &Tombstones,
    timestamp: Option<&str>,
    recipients: [Option<&str>; 2],
) -> bool {
    let Some(at) = timestamp.and_then(|text| eventhose_model::parse_timestamp_str(text).ok())
    else {
        return false;
    };
    tombstones.any_erased(recipients.into_iter().flatten(), at)
}

/// Events gathered for one webhook, not yet sealed.
pub struct OpenBatch {
    body: BytesMut,
    events: u32,
    opened: Instant,
}

impl OpenBatch {
    /// An empty batch, opened now.
    pub fn new() -> Self {
        let mut body = BytesMut::with_capacity(16 * 1024);
        body.put_u8(b'[');
        Self {
            body,
            events: 0,
            opened: Instant::now(),
        }
    }

    /// Appends one event as `{"msys":{"<category>":<stored event>}}`.
    pub fn push(&mut self, category: &str, stored_event: &[u8]) {
        if self.events > 0 {
            self.body.put_u8(b',');
        }
        self.body.put_slice(b"{\"msys\":{\"");
        self.body.put_slice(category.as_bytes());
        self.body.put_slice(b"\":");
        self.body.put_slice(stored_event);
        self.body.put_slice(b"}}");
        self.events += 1;
    }

    /// Events so far.
    pub fn events(&self) -> u32 {
        self.events
    }

    /// Body bytes so far.
    pub fn bytes(&self) -> usize {
        self.body.len() + 1
    }

    /// When the first event could have arrived.
    pub fn opened(&self) -> Instant {
        self.opened
    }

    /// Closes the array and gives the batch its identity.
    pub fn seal(mut self, webhook_id: &str, now: i64) -> Batch {
        self.body.put_u8(b']');
        Batch {
            header: BatchHeader {
                batch_id: uuid::Uuid::new_v4().simple().to_string(),
                webhook_id: webhook_id.to_string(),
                created_at: now,
                events: self.events,
            },
            body: self.body.freeze(),
        }
    }
}

impl Default for OpenBatch {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_json_arrays_of_envelopes_and_round_trip() {
        let mut open = OpenBatch::new();
        open.push("message_event", br#"{"type":"delivery","event_id":"1"}"#);
        open.push("track_event", br#"{"type":"click","event_id":"2"}"#);
        assert_eq!(open.events(), 2);
        let batch = open.seal("wh1", 1_700_000_000);
        let body: serde_json::Value = serde_json::from_slice(&batch.body).unwrap();
        assert_eq!(body[0]["msys"]["message_event"]["type"], "delivery");
        assert_eq!(body[1]["msys"]["track_event"]["event_id"], "2");
        assert!(!batch.header.batch_id.contains('.'));
        assert_eq!(Batch::decode(&batch.encode()).unwrap(), batch);
        assert!(Batch::decode(&Bytes::from_static(b"no header")).is_err());
    }

    #[test]
    fn a_batch_written_before_an_erasure_sends_the_erased_address_never_again() {
        let mut open = OpenBatch::new();
        open.push(
            "message_event",
            br#"{"type":"delivery","timestamp":"100","rcpt_to":"ann@example.com","event_id":"1"}"#,
        );
        open.push(
            "track_event",
            br#"{"type":"click","timestamp":"100","rcpt_to":"bob@example.com","event_id":"2"}"#,
        );
        open.push(
            "message_event",
            br#"{"type":"bounce","timestamp":"300","raw_rcpt_to":"Ann@Example.com","event_id":"3"}"#,
        );
        let batch = open.seal("wh1", 1_700_000_000);
        let none = Tombstones::default();
        assert_eq!(
            batch.clone().without_erased(&none).unwrap(),
            Some(batch.clone())
        );
        let tombstones = Tombstones::default();
        tombstones.add("ann@example.com", 200);
        let kept = batch.clone().without_erased(&tombstones).unwrap().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&kept.body).unwrap();
        let ids: Vec<&str> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let event = e["msys"].as_object().unwrap().values().next().unwrap();
                event["event_id"].as_str().unwrap()
            })
            .collect();
        assert_eq!(ids, ["2", "3"], "event 3 came after the erasure");
        assert_eq!(kept.header.events, 2);
        assert_eq!(kept.header.batch_id, batch.header.batch_id);
        tombstones.add("bob@example.com", 200);
        tombstones.add("ann@example.com", 400);
        assert_eq!(batch.without_erased(&tombstones).unwrap(), None);
    }
}
