//! The metrics subscriber (the seed's "Metrics ETL"): folds every event into minute counters
//! and commits them to the analytic store.
//!
//! Exactly once on the embedded hose: every commit stores the highest hose position it
//! includes, in the same transaction as the counters, and a delivery at or below the stored
//! position (redelivered after a crash) is skipped. On a hose without positions it counts at
//! least once. On any hose, an event that entered it twice (a client's retry, a source
//! re-reading its input) is counted once when both arrive within the deduplication window:
//! the aggregator skips an `event_id` it folded for the same account (see
//! `eventhose_analytics::Aggregator`), and the identities are committed with the counters.
//! Retention runs here too, inside a checkpoint (taken hourly even while no event arrives), so
//! the store has a single writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use eventhose_analytics::{Aggregator, MetricsWriter};
use eventhose_hose::Delivery;
use eventhose_model::DedupWindow;

use crate::{Commit, Processor, SubscriberError, DEFAULT_DEDUP_WINDOW};

/// The subscriber name the metrics ETL registers on the hose.
pub const METRICS_SUBSCRIBER: &str = "metrics";

/// How long metrics are kept.
#[derive(Clone, Copy, Debug)]
pub struct MetricsRetention {
    /// Aggregates older than this are dropped (whole monthly partitions).
    pub keep: Duration,
    /// How long a message's first engagement is remembered for the unique metrics.
    pub unique_window: Duration,
    /// How long an applied event's identity is remembered, so that a repeat is skipped
    /// (zero: repeats are counted again).
    pub dedup_window: DedupWindow,
    /// How often retention runs.
    pub every: Duration,
}

impl Default for MetricsRetention {
    fn default() -> Self {
        MetricsRetention {
            keep: Duration::from_secs(183 * 86_400),
            unique_window: Duration::from_secs(10 * 86_400),
            dedup_window: DEFAULT_DEDUP_WINDOW,
            every: Duration::from_secs(3_600),
        }
    }
}

/// Folds events and commits them with their hose position.
pub struct MetricsSubscriber {
    store: Arc<dyn MetricsWriter>,
    aggregator: Aggregator,
    /// Highest position in the store.
    committed: Option<u64>,
    /// Highest position folded since the last commit.
    folded: Option<u64>,
    retention: MetricsRetention,
    last_retention: Option<Instant>,
    commit_every: Duration,
}

impl MetricsSubscriber {
    /// Resumes from the store's last commit.
    pub async fn open(
        store: Arc<dyn MetricsWriter>,
        retention: MetricsRetention,
        commit_every: Duration,
    ) -> Result<Self, SubscriberError> {
        let reader = store.clone();
        let max_applied = retention.dedup_window.max_events;
        let checkpoint = crate::blocking(move || reader.checkpoint_newest(max_applied)).await?;
        let committed = checkpoint.position;
        Ok(MetricsSubscriber {
            store,
            aggregator: Aggregator::resumed(checkpoint, retention.dedup_window),
            committed,
            folded: None,
            retention,
            last_retention: None,
            commit_every,
        })
    }

    /// Whether retention's interval has passed since it last ran (or it never ran).
    fn retention_elapsed(&self) -> bool {
        self.last_retention
            .is_none_or(|at| at.elapsed() >= self.retention.every)
    }

    /// When retention is due: forgets old first engagements and applied events in memory and
    /// returns the times the store keeps aggregates, ledger days and applied events from.
    fn retention_due(&mut self) -> Option<[chrono::DateTime<Utc>; 3]> {
        if !self.retention_elapsed() {
            return None;
        }
        self.last_retention = Some(Instant::now());
        let now = Utc::now();
        let keep_from = now - chrono::Duration::from_std(self.retention.keep).unwrap_or_default();
        let ledger_from =
            now - chrono::Duration::from_std(self.retention.unique_window).unwrap_or_default();
        self.aggregator
            .ledger
            .forget_before(i32::try_from(ledger_from.timestamp().div_euclid(86_400)).unwrap_or(0));
        let now_minute = now.timestamp().div_euclid(60);
        let applied = &mut self.aggregator.applied;
        applied.expire(now_minute);
        let applied_from =
            chrono::DateTime::from_timestamp(applied.floor(now_minute) * 60, 0).unwrap_or(now);
        Some([keep_from, ledger_from, applied_from])
    }
}

#[async_trait::async_trait]
impl Processor for MetricsSubscriber {
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
        if let (Some(position), Some(done)) = (delivery.position, self.committed) {
            if position <= done {
                return Ok(()); // committed before a crash; redelivered since
            }
        }
        for (index, message) in delivery.messages.iter().enumerate() {
            self.aggregator
                .fold(message)
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
        let (tally, changes) = self.aggregator.take();
        crate::applied::report(
            METRICS_SUBSCRIBER,
            &mut self.aggregator.applied,
            eventhose_model::unix_minute(),
        );
        let position = self.folded.take().or(self.committed);
        self.committed = position;
        let retention = self.retention_due();
        let store = self.store.clone();
        Ok(Box::pin(async move {
            if !tally.is_empty() || !changes.is_empty() {
                let events = tally.events;
                let writer = store.clone();
                crate::blocking(move || writer.commit(&tally, &changes, position)).await?;
                ::metrics::counter!("eventhose_subscriber_events_total", "subscriber" => METRICS_SUBSCRIBER)
                    .increment(events);
            }
            if let Some([keep_from, ledger_from, applied_from]) = retention {
                let report = crate::blocking(move || {
                    store.enforce_retention(keep_from, ledger_from, applied_from)
                })
                .await?;
                if !report.dropped.is_empty() {
                    tracing::info!(dropped = ?report.dropped, "metrics retention dropped partitions");
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
    use eventhose_analytics::{
        AnalyticsError, Filter, Grouping, LedgerChange, MemoryStore, Metric, MetricsCheckpoint,
        MetricsQuery, MetricsReader, RetentionReport, Tally, TimeRange,
    };
    use eventhose_hose::DeliveryTag;

    fn delivery(position: u64, types: &[&str]) -> Delivery {
        // Recent, or retention would drop it.
        let now = Utc::now().timestamp();
        Delivery {
            tag: DeliveryTag::external(position),
            messages: types
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    bytes::Bytes::from(format!(
                        r#"{{"type":"{t}","timestamp":"{now}","event_id":"{position}-{i}","message_id":"m{i}"}}"#
                    ))
                })
                .collect(),
            attempt: 0,
            position: Some(position),
        }
    }

    fn targeted(store: &MemoryStore) -> u64 {
        let rows = store
            .metrics(&MetricsQuery {
                range: TimeRange {
                    from: chrono::DateTime::from_timestamp(0, 0).unwrap(),
                    to: chrono::DateTime::from_timestamp(3_999_999_960, 0).unwrap(),
                },
                filter: Filter::default(),
                grouping: Grouping::Total,
                metrics: vec![Metric::Targeted],
            })
            .unwrap();
        rows.first()
            .map_or(0, |r| Metric::Targeted.value(&r.counters))
    }

    /// A store whose commits fail as an engine on a full disk would.
    struct FullDisk;

    impl MetricsWriter for FullDisk {
        fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError> {
            Ok(MetricsCheckpoint::default())
        }

        fn commit(
            &self,
            _: &Tally,
            _: &[LedgerChange],
            _: Option<u64>,
        ) -> Result<(), AnalyticsError> {
            Err(AnalyticsError::engine_in(
                "commit",
                std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"),
            ))
        }

        fn enforce_retention(
            &self,
            _: chrono::DateTime<Utc>,
            _: chrono::DateTime<Utc>,
            _: chrono::DateTime<Utc>,
        ) -> Result<RetentionReport, AnalyticsError> {
            Ok(RetentionReport::default())
        }
    }

    #[tokio::test]
    async fn a_failed_commit_reaches_the_runner_with_its_cause() {
        use std::error::Error as _;

        let mut subscriber = MetricsSubscriber::open(
            Arc::new(FullDisk),
            MetricsRetention::default(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        subscriber
            .process(&delivery(1, &["injection"]))
            .await
            .unwrap();
        let error = subscriber.checkpoint().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "analytic store: commit: no space left on device"
        );
        let analytics = error
            .source()
            .and_then(|source| source.downcast_ref::<AnalyticsError>())
            .expect("the analytic store's error is the source");
        assert!(matches!(analytics, AnalyticsError::Engine { .. }));
        let io = analytics
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .expect("the engine's error is kept under it");
        assert_eq!(io.kind(), std::io::ErrorKind::StorageFull);
    }

    #[tokio::test]
    async fn redeliveries_at_or_below_the_committed_position_are_skipped() {
        let store = Arc::new(MemoryStore::new());
        let open = || {
            MetricsSubscriber::open(
                store.clone(),
                MetricsRetention::default(),
                Duration::from_secs(1),
            )
        };
        let mut first = open().await.unwrap();
        first
            .process(&delivery(10, &["injection", "injection"]))
            .await
            .unwrap();
        first.checkpoint().await.unwrap();
        // Folded but never committed: lost with the process, like a crash.
        first.process(&delivery(20, &["injection"])).await.unwrap();
        drop(first);
        assert_eq!(targeted(&store), 2);

        let mut second = open().await.unwrap();
        second
            .process(&delivery(10, &["injection", "injection"]))
            .await
            .unwrap();
        second.process(&delivery(20, &["injection"])).await.unwrap();
        second.checkpoint().await.unwrap();
        assert_eq!(targeted(&store), 3, "10 skipped, 20 counted once");
    }

    #[tokio::test]
    async fn an_event_that_enters_the_hose_twice_is_counted_once_across_restarts() {
        let store = Arc::new(MemoryStore::new());
        let open = |dedup_window| {
            MetricsSubscriber::open(
                store.clone(),
                MetricsRetention {
                    dedup_window,
                    ..MetricsRetention::default()
                },
                Duration::from_secs(1),
            )
        };
        // The same events at a later position: a client's retry, not a redelivery.
        let retry = |position| Delivery {
            tag: DeliveryTag::external(position),
            position: Some(position),
            ..delivery(1, &["injection"])
        };
        let mut first = open(DEFAULT_DEDUP_WINDOW).await.unwrap();
        first.process(&retry(1)).await.unwrap();
        first.process(&retry(2)).await.unwrap();
        first.checkpoint().await.unwrap();
        assert_eq!(targeted(&store), 1);
        drop(first);

        let mut restarted = open(DEFAULT_DEDUP_WINDOW).await.unwrap();
        restarted.process(&retry(3)).await.unwrap();
        restarted.checkpoint().await.unwrap();
        assert_eq!(
            targeted(&store),
            1,
            "the identity was committed with the count"
        );
        drop(restarted);

        let mut without = open(DedupWindow::OFF).await.unwrap();
        without.process(&retry(4)).await.unwrap();
        without.checkpoint().await.unwrap();
        assert_eq!(targeted(&store), 2, "a zero window counts repeats");
    }

    #[tokio::test]
    async fn one_event_id_in_two_accounts_is_two_events() {
        let store = Arc::new(MemoryStore::new());
        let mut subscriber = MetricsSubscriber::open(
            store.clone(),
            MetricsRetention::default(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let now = Utc::now().timestamp();
        let event = |subaccount: u32| {
            bytes::Bytes::from(format!(
                r#"{{"type":"injection","timestamp":"{now}","event_id":"same","message_id":"m","subaccount_id":"{subaccount}"}}"#
            ))
        };
        let both = Delivery {
            tag: DeliveryTag::external(1),
            messages: vec![event(3), event(7)],
            attempt: 0,
            position: Some(1),
        };
        subscriber.process(&both).await.unwrap();
        subscriber.checkpoint().await.unwrap();
        assert_eq!(targeted(&store), 2);
    }

    #[tokio::test]
    async fn unreadable_events_are_reported() {
        let store = Arc::new(MemoryStore::new());
        let mut subscriber =
            MetricsSubscriber::open(store, MetricsRetention::default(), Duration::from_secs(1))
                .await
                .unwrap();
        let mut bad = delivery(1, &["injection"]);
        bad.messages.push(bytes::Bytes::from_static(b"not json"));
        assert!(matches!(
            subscriber.process(&bad).await,
            Err(SubscriberError::BadMessage { index: 1, .. })
        ));
    }
}
