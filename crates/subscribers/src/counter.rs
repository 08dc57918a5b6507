//! The event counter: counts events per type, what entered the hose, repeats included (it does
//! not deduplicate by event identity). It is the simplest real subscriber, used by the
//! tests to prove that every acknowledged event reaches the subscribers, and exported in
//! `/metrics` as `eventhose_subscriber_events_total{subscriber="counter",type=…}`.
//!
//! Its counts are exact across crashes on the embedded hose: the checkpoint file records the
//! counts together with the highest hose position they include (written atomically), and a
//! delivery at or below that position, redelivered after a crash, is skipped. On a hose
//! without positions it counts at least once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eventhose_hose::Delivery;
use eventhose_model::EventType;
use serde::{Deserialize, Serialize};

use crate::{already_durable, Commit, Processor, SubscriberError};

/// The subscriber name the counter registers on the hose.
pub const COUNTER_SUBSCRIBER: &str = "counter";

/// What the checkpoint file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    /// Events counted per type.
    pub counts: BTreeMap<String, u64>,
    /// Highest hose position included in `counts`.
    pub position: Option<u64>,
}

impl CounterSnapshot {
    /// All events counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Counts events per type, durably.
pub struct EventCounter {
    path: PathBuf,
    live: Arc<Mutex<CounterSnapshot>>,
    durable_position: Option<u64>,
}

impl EventCounter {
    /// Opens the counter whose checkpoint lives at `path` (created on the first checkpoint).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SubscriberError> {
        let path = path.into();
        let snapshot = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CounterSnapshot::default(),
            Err(e) => return Err(e.into()),
        };
        let durable_position = snapshot.position;
        let counter = Self {
            path,
            live: Arc::new(Mutex::new(snapshot)),
            durable_position,
        };
        counter.export();
        Ok(counter)
    }

    /// A handle on the live counts, for readers.
    pub fn counts(&self) -> Arc<Mutex<CounterSnapshot>> {
        self.live.clone()
    }

    fn export(&self) {
        if let Ok(live) = self.live.lock() {
            for (event_type, count) in &live.counts {
                metrics::counter!("eventhose_subscriber_events_total", "subscriber" => COUNTER_SUBSCRIBER, "type" => event_type.clone())
                    .absolute(*count);
            }
        }
    }
}

#[async_trait::async_trait]
impl Processor for EventCounter {
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
        if let (Some(position), Some(done)) = (delivery.position, self.durable_position) {
            if position <= done {
                return Ok(()); // counted before a crash; redelivered since
            }
        }
        let mut per_type: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut unreadable = None;
        for (index, message) in delivery.messages.iter().enumerate() {
            match stored_event_type(message) {
                Ok(event_type) => *per_type.entry(event_type.as_str()).or_default() += 1,
                Err(reason) => {
                    unreadable = Some(SubscriberError::BadMessage { index, reason });
                    break;
                }
            }
        }
        let mut live = self
            .live
            .lock()
            .map_err(|_| SubscriberError::Internal("counter lock poisoned".into()))?;
        for (event_type, n) in per_type {
            *live.counts.entry(event_type.to_string()).or_default() += n;
        }
        // Those before an unreadable message are counted; the rest come again without it.
        if let Some(unreadable) = unreadable {
            return Err(unreadable);
        }
        if let Some(position) = delivery.position {
            live.position = Some(live.position.map_or(position, |p| p.max(position)));
        }
        Ok(())
    }

    async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
        let snapshot = self
            .live
            .lock()
            .map_err(|_| SubscriberError::Internal("counter lock poisoned".into()))?
            .clone();
        let bytes = serde_json::to_vec(&snapshot).map_err(std::io::Error::other)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        self.durable_position = snapshot.position;
        self.export();
        Ok(already_durable())
    }
}

/// Reads only the `type` of a stored event: counting needs nothing else, and not reading the
/// rest of the object keeps the counter cheap beside ingest.
fn stored_event_type(message: &[u8]) -> Result<EventType, String> {
    // The storage form leads with `{"type":"<name>"`; type names need no escapes.
    if let Some(rest) = message.strip_prefix(br#"{"type":""#) {
        if let Some(end) = rest.iter().position(|&b| b == b'"') {
            if let Some(event_type) = std::str::from_utf8(&rest[..end])
                .ok()
                .and_then(|name| name.parse().ok())
            {
                return Ok(event_type);
            }
        }
    }
    // Anything else (an older storage form, say) is read in full.
    #[derive(Deserialize)]
    struct TypeOnly<'a> {
        #[serde(rename = "type", borrow)]
        event_type: std::borrow::Cow<'a, str>,
    }
    let parsed: TypeOnly<'_> = serde_json::from_slice(message).map_err(|e| e.to_string())?;
    parsed
        .event_type
        .parse()
        .map_err(|e: eventhose_model::UnknownEventType| e.to_string())
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new content.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_type_from_the_prefix_or_from_the_whole_event() {
        let leading = br#"{"type":"click","event_id":"1","rcpt_meta":{"type":"bounce"}}"#;
        assert_eq!(stored_event_type(leading).unwrap(), EventType::Click);
        let elsewhere = br#"{"event_id":"1","rcpt_meta":{"type":"bounce"},"type":"delay"}"#;
        assert_eq!(stored_event_type(elsewhere).unwrap(), EventType::Delay);
        assert!(stored_event_type(br#"{"type":"teleport"}"#).is_err());
        assert!(stored_event_type(b"not json").is_err());
    }
}
