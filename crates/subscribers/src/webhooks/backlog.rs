//! Batches accepted for delivery and not yet settled, per webhook.

use std::collections::HashMap;

use super::batch::BatchHeader;

/// Exported as `eventhose_webhook_backlog_events{webhook}`. A batch counts from when this
/// process seals it or, for a batch queued before a restart, from when it first comes back
/// from the delayed queue; it stops counting once delivered, given up, or dropped.
#[derive(Default)]
pub struct Backlog {
    batches: HashMap<String, (String, u32)>,
    events: HashMap<String, u64>,
    /// Batches counted, per webhook.
    per_webhook: HashMap<String, usize>,
}

impl Backlog {
    /// Counts a batch (once, however often it is seen).
    pub fn add(&mut self, header: &BatchHeader) {
        let entry = (header.webhook_id.clone(), header.events);
        if self
            .batches
            .insert(header.batch_id.clone(), entry)
            .is_none()
        {
            let events = self.events.entry(header.webhook_id.clone()).or_default();
            *events += u64::from(header.events);
            export(&header.webhook_id, *events);
            *self
                .per_webhook
                .entry(header.webhook_id.clone())
                .or_default() += 1;
        }
    }

    /// Stops counting a batch.
    pub fn remove(&mut self, header: &BatchHeader) {
        if let Some((webhook_id, batch_events)) = self.batches.remove(&header.batch_id) {
            let events = self.events.entry(webhook_id.clone()).or_default();
            *events = events.saturating_sub(u64::from(batch_events));
            export(&webhook_id, *events);
            if let Some(batches) = self.per_webhook.get_mut(&webhook_id) {
                *batches = batches.saturating_sub(1);
            }
        }
    }

    /// Batches counted for `webhook_id`: those ahead of a batch that waits for it.
    pub fn batches(&self, webhook_id: &str) -> usize {
        self.per_webhook.get(webhook_id).copied().unwrap_or(0)
    }

    /// Events counted for `webhook_id`.
    #[cfg(test)]
    pub fn events(&self, webhook_id: &str) -> u64 {
        self.events.get(webhook_id).copied().unwrap_or(0)
    }
}

fn export(webhook_id: &str, events: u64) {
    metrics::gauge!("eventhose_webhook_backlog_events", "webhook" => webhook_id.to_string())
        .set(events as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(batch: &str, webhook: &str, events: u32) -> BatchHeader {
        BatchHeader {
            batch_id: batch.into(),
            webhook_id: webhook.into(),
            created_at: 0,
            events,
        }
    }

    #[test]
    fn counts_each_batch_once_until_it_settles() {
        let mut backlog = Backlog::default();
        backlog.add(&header("b1", "w", 10));
        backlog.add(&header("b1", "w", 10)); // seen again on a retry
        backlog.add(&header("b2", "w", 5));
        backlog.add(&header("b3", "other", 7));
        assert_eq!(backlog.events("w"), 15);
        backlog.remove(&header("b1", "w", 10));
        backlog.remove(&header("b1", "w", 10));
        backlog.remove(&header("unknown", "w", 99));
        assert_eq!(backlog.events("w"), 5);
        assert_eq!(backlog.events("other"), 7);
        assert_eq!((backlog.batches("w"), backlog.batches("other")), (1, 1));
    }
}
