//! The message-events subscriber (the seed's "Message Events ETL"): stores every event whole in
//! the event store, for the Events API.
//!
//! Inserts are idempotent by `event_id` and timestamp, and each commit records the hose
//! position it covers, so a delivery at or below the stored position (redelivered after a
//! crash) is skipped: events that retention or erasure removed since do not come back.
//! Retention (whole days) runs hourly inside a checkpoint, taken even while no event arrives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use eventhose_analytics::{EventBatch, EventWriter, IndexedEvent};
use eventhose_hose::Delivery;
use eventhose_state::Tombstones;

use crate::{Commit, Processor, SubscriberError};

/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);

/// The subscriber name the message-events ETL registers on the hose.
pub const MESSAGE_EVENTS_SUBSCRIBER: &str = "message_events";

/// Stores events whole, committing them with their hose position.
pub struct MessageEventsSubscriber {
    store: Arc<dyn EventWriter>,
    /// Events read since the last checkpoint (reading is the costly part of storing, so it
    /// happens here, beside the commit of the previous batch).
    pending: EventBatch,
    /// The batch of the last commit, handed back once stored, to be emptied here and filled
    /// again: its events are freed by the thread that allocated them, and the next batch
    /// reuses its room instead of touching fresh memory.
    recycled: Arc<Mutex<Option<EventBatch>>>,
    committed: Option<u64>,
    folded: Option<u64>,
    keep: Duration,
    last_retention: Option<Instant>,
    commit_every: Duration,
    /// Erased recipients: their events are not stored again.
    tombstones: Arc<Tombstones>,
}

impl MessageEventsSubscriber {
    /// Resumes from the store's last commit; events are kept for `keep`, and those of
    /// recipients erased (`tombstones`) up to their erasure are not stored.
    pub async fn open(
        store: Arc<dyn EventWriter>,
        keep: Duration,
        commit_every: Duration,
        tombstones: Arc<Tombstones>,
    ) -> Result<Self, SubscriberError> {
        let reader = store.clone();
        let committed = crate::blocking(move || reader.checkpoint()).await?;
        Ok(MessageEventsSubscriber {
            store,
            pending: EventBatch::default(),
            recycled: Arc::default(),
            committed,
            folded: None,
            keep,
            last_retention: None,
            commit_every,
            tombstones,
        })
    }

    /// The start of the oldest UTC day retention keeps: an older event would get a day table
    /// of its own that retention drops at its next run, so it is not stored at all.
    fn earliest_kept(&self) -> i64 {
        let keep = i64::try_from(self.keep.as_secs()).unwrap_or(i64::MAX);
        let keep_from = Utc::now().timestamp().saturating_sub(keep);
        // Retention drops the days that end at or before `keep_from`: the day holding
        // `keep_from` is the oldest it keeps.
        keep_from.div_euclid(86_400) * 86_400
    }

    /// Whether an hour has passed since retention last ran (or it never ran).
    fn retention_elapsed(&self) -> bool {
        self.last_retention
            .is_none_or(|at| at.elapsed() >= RETENTION_EVERY)
    }

    /// When retention is due (hourly), where it keeps events from.
    fn retention_due(&mut self) -> Option<chrono::DateTime<Utc>> {
        if !self.retention_elapsed() {
            return None;
        }
        self.last_retention = Some(Instant::now());
        Some(Utc::now() - chrono::Duration::from_std(self.keep).unwrap_or_default())
    }
}

#[async_trait::async_trait]
impl Processor for MessageEventsSubscriber {
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
        if let (Some(position), Some(done)) = (delivery.position, self.committed) {
            if position <= done {
                return Ok(());
            }
        }
        let earliest = self.earliest_kept();
        let tombstones = &self.tombstones;
        for (index, message) in delivery.messages.iter().enumerate() {
            self.pending
                .push_shared_if(message.clone(), |event| {
                    event.timestamp >= earliest
                        && !tombstones.any_erased(
                            event.recipients.iter().map(String::as_str),
                            event.timestamp,
                        )
                })
                .map_err(|e| SubscriberError::BadMessage {
                    index,
                    reason: e.to_string(),
                })?;
        }
        if let Some(position) = delivery.position {
            self.folded = Some(self.folded.map_or(position, |p| p.max(position)));
        }
        Ok(())
    }

    async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
        let recycled = self.recycled.lock().ok().and_then(|mut slot| slot.take());
        let next = match recycled {
            Some(mut batch) => {
                batch.clear();
                batch
            }
            None => EventBatch::with_capacity(self.pending.len()),
        };
        let events = std::mem::replace(&mut self.pending, next);
        let recycled = self.recycled.clone();
        let position = self.folded.take().or(self.committed);
        self.committed = position;
        let retention_from = self.retention_due();
        let store = self.store.clone();
        let tombstones = self.tombstones.clone();
        Ok(Box::pin(async move {
            if !events.is_empty() {
                let writer = store.clone();
                let (report, events) = crate::blocking(move || {
                    // Checked again inside the store's write lock, which an erasure takes
                    // after recording its tombstone: a recipient erased since its events were
                    // read is not stored by this commit, however the two interleave.
                    let may_store = |event: &IndexedEvent| {
                        tombstones.is_empty()
                            || !tombstones.any_erased(
                                event.recipients.iter().map(String::as_str),
                                event.timestamp,
                            )
                    };
                    writer
                        .insert_checked(&events, position, &may_store)
                        .map(|report| (report, events))
                })
                .await?;
                if let Ok(mut slot) = recycled.lock() {
                    *slot = Some(events);
                }
                ::metrics::counter!("eventhose_subscriber_events_total", "subscriber" => MESSAGE_EVENTS_SUBSCRIBER)
                    .increment(report.inserted);
            }
            if let Some(keep_from) = retention_from {
                let report = crate::blocking(move || store.enforce_retention(keep_from)).await?;
                if !report.dropped.is_empty() {
                    tracing::info!(dropped = ?report.dropped, "message events retention dropped days");
                }
            }
            Ok(())
        }))
    }

    fn checkpoint_interval(&self) -> Duration {
        self.commit_every
    }

    fn idle_checkpoint_due(&self) -> bool {
        self.retention_elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_analytics::{EventFilters, EventQuery, EventReader, MemoryEventStore};
    use eventhose_hose::DeliveryTag;

    fn delivery(position: u64, ids: &[&str]) -> Delivery {
        let now = Utc::now().timestamp();
        Delivery {
            tag: DeliveryTag::external(position),
            messages: ids
                .iter()
                .map(|id| {
                    bytes::Bytes::from(format!(
                        r#"{{"type":"delivery","timestamp":"{now}","event_id":"{id}","rcpt_to":"a@example.com"}}"#
                    ))
                })
                .collect(),
            attempt: 0,
            position: Some(position),
        }
    }

    fn stored(store: &MemoryEventStore) -> u64 {
        store
            .search(&EventQuery {
                from: 0,
                to: i64::MAX,
                filters: EventFilters::default(),
                per_page: 100,
                max_bytes: usize::MAX,
                cursor: None,
            })
            .unwrap()
            .total_count
    }

    /// A memory store that calls `before_insert` with every batch it is given, then stores it.
    struct Hooked<F> {
        store: MemoryEventStore,
        before_insert: F,
    }

    impl<F> Hooked<F> {
        fn new(before_insert: F) -> Self {
            Hooked {
                store: MemoryEventStore::new(),
                before_insert,
            }
        }
    }

    impl<F: Fn(&EventBatch) + Send + Sync> EventWriter for Hooked<F> {
        fn insert_checked(
            &self,
            batch: &EventBatch,
            position: Option<u64>,
            may_store: eventhose_analytics::MayStore<'_>,
        ) -> Result<eventhose_analytics::InsertReport, eventhose_analytics::AnalyticsError>
        {
            (self.before_insert)(batch);
            self.store.insert_checked(batch, position, may_store)
        }
        fn checkpoint(&self) -> Result<Option<u64>, eventhose_analytics::AnalyticsError> {
            self.store.checkpoint()
        }
        fn enforce_retention(
            &self,
            keep_from: chrono::DateTime<Utc>,
        ) -> Result<eventhose_analytics::RetentionReport, eventhose_analytics::AnalyticsError>
        {
            self.store.enforce_retention(keep_from)
        }
        fn erase_recipient(
            &self,
            recipient: &str,
        ) -> Result<eventhose_analytics::ErasureReport, eventhose_analytics::AnalyticsError>
        {
            self.store.erase_recipient(recipient)
        }
    }

    /// A subscriber keeping ten days, over `store`, with `tombstones`.
    async fn subscriber_over(
        store: Arc<dyn EventWriter>,
        tombstones: Arc<Tombstones>,
    ) -> MessageEventsSubscriber {
        MessageEventsSubscriber::open(
            store,
            Duration::from_secs(10 * 86_400),
            Duration::from_secs(1),
            tombstones,
        )
        .await
        .unwrap()
    }

    /// A delivery of one event at `at`.
    fn delivery_at(position: u64, id: &str, at: i64) -> Delivery {
        let stored = format!(
            r#"{{"type":"delivery","timestamp":"{at}","event_id":"{id}","rcpt_to":"a@example.com"}}"#
        );
        Delivery {
            tag: DeliveryTag::external(position),
            messages: vec![bytes::Bytes::from(stored)],
            attempt: 0,
            position: Some(position),
        }
    }

    #[tokio::test]
    async fn events_older_than_retention_get_no_day_table() {
        let store = Arc::new(MemoryEventStore::new());
        let mut subscriber = subscriber_over(store.clone(), Arc::default()).await;
        let now = Utc::now().timestamp();
        let oldest_kept_day = (now - 10 * 86_400).div_euclid(86_400) * 86_400;
        subscriber
            .process(&delivery_at(1, "old", oldest_kept_day - 1))
            .await
            .unwrap();
        subscriber
            .process(&delivery_at(2, "kept", oldest_kept_day + 60))
            .await
            .unwrap();
        subscriber.checkpoint().await.unwrap();
        assert_eq!(stored(&store), 1);
        // Retention finds nothing older to drop.
        let report = store
            .enforce_retention(Utc::now() - chrono::Duration::days(10))
            .unwrap();
        assert!(report.dropped.is_empty(), "{report:?}");
        assert_eq!(store.checkpoint().unwrap(), Some(2));
    }

    #[tokio::test]
    async fn an_erased_recipients_late_events_are_not_stored_again() {
        let store = Arc::new(MemoryEventStore::new());
        let tombstones = Arc::new(Tombstones::default());
        let mut subscriber = subscriber_over(store.clone(), tombstones.clone()).await;
        let now = Utc::now().timestamp();
        // Erased while its event was on its way; a later message to the address is new.
        tombstones.add("A@Example.com", now);
        subscriber
            .process(&delivery_at(1, "in-flight", now - 60))
            .await
            .unwrap();
        subscriber
            .process(&delivery_at(2, "after", now + 1))
            .await
            .unwrap();
        subscriber.checkpoint().await.unwrap();
        assert_eq!(stored(&store), 1);
    }

    #[tokio::test]
    async fn an_erasure_between_reading_and_writing_an_event_keeps_it_out() {
        let store = Arc::new(MemoryEventStore::new());
        let tombstones = Arc::new(Tombstones::default());
        let mut subscriber = subscriber_over(store.clone(), tombstones.clone()).await;
        let now = Utc::now().timestamp();
        subscriber
            .process(&delivery_at(1, "pending", now - 60))
            .await
            .unwrap();
        // Erased while the event waits in the batch of the next commit.
        tombstones.add("a@example.com", now);
        subscriber.checkpoint().await.unwrap();
        assert_eq!(stored(&store), 0);
        assert_eq!(store.checkpoint().unwrap(), Some(1));
    }

    #[tokio::test]
    async fn an_erasure_recorded_as_the_commit_reaches_the_store_keeps_the_event_out() {
        let tombstones = Arc::new(Tombstones::default());
        // The erasure is recorded just as the commit reaches the store: the interleaving that
        // a check made before the write, outside the store's lock, missed.
        let erasing = tombstones.clone();
        let store = Arc::new(Hooked::new(move |_: &EventBatch| {
            erasing.add("a@example.com", Utc::now().timestamp());
        }));
        let mut subscriber = subscriber_over(store.clone(), tombstones).await;
        let now = Utc::now().timestamp();
        subscriber
            .process(&delivery_at(1, "racing", now - 60))
            .await
            .unwrap();
        subscriber.checkpoint().await.unwrap();
        assert_eq!(stored(&store.store), 0);
        assert_eq!(store.checkpoint().unwrap(), Some(1));
    }

    #[tokio::test]
    async fn a_recycled_batch_starts_empty() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let recorded = batches.clone();
        let store = Arc::new(Hooked::new(move |batch: &EventBatch| {
            recorded.lock().unwrap().push(batch.len());
        }));
        let mut subscriber = subscriber_over(store.clone(), Arc::default()).await;
        subscriber.process(&delivery(1, &["a", "b"])).await.unwrap();
        subscriber.checkpoint().await.unwrap();
        for (position, id) in [(2, "c"), (3, "d"), (4, "e")] {
            subscriber
                .process(&delivery(position, &[id]))
                .await
                .unwrap();
            subscriber.checkpoint().await.unwrap();
        }
        assert_eq!(*batches.lock().unwrap(), [2, 1, 1, 1]);
        assert_eq!(stored(&store.store), 5);
    }

    #[tokio::test]
    async fn events_are_stored_once_and_redeliveries_skipped() {
        let store = Arc::new(MemoryEventStore::new());
        let open = || {
            MessageEventsSubscriber::open(
                store.clone(),
                Duration::from_secs(10 * 86_400),
                Duration::from_secs(1),
                Arc::default(),
            )
        };
        let mut first = open().await.unwrap();
        first.process(&delivery(5, &["a", "b"])).await.unwrap();
        first.checkpoint().await.unwrap();
        first.process(&delivery(9, &["c"])).await.unwrap();
        drop(first); // a crash before the commit of 9
        assert_eq!(stored(&store), 2);
        let mut second = open().await.unwrap();
        second.process(&delivery(5, &["a", "b"])).await.unwrap();
        second.process(&delivery(9, &["c"])).await.unwrap();
        second.checkpoint().await.unwrap();
        assert_eq!(stored(&store), 3);
        assert_eq!(store.checkpoint().unwrap(), Some(9));
    }
}
