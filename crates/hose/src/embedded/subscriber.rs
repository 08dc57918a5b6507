//! Per-subscriber shared state: cursors, the open flag and the delayed queue.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::embedded::deferred::{DeferredStore, DeferredTotals};
use crate::SubscriberStats;

/// State of one registered subscriber, shared by the hose, its subscription and the flusher.
#[derive(Debug)]
pub(crate) struct SubscriberState {
    pub(crate) name: String,
    /// End of the contiguous acknowledged prefix (in memory).
    pub(crate) acked: AtomicU64,
    /// The cursor last written to the cursor file.
    pub(crate) persisted: AtomicU64,
    /// Whether a subscription is open.
    pub(crate) open: AtomicBool,
    /// The delayed queue (blocking I/O: use from blocking threads only).
    pub(crate) deferred: Mutex<DeferredStore>,
    deferred_totals: Arc<DeferredTotals>,
    lag_gauge: metrics::Gauge,
    deferred_gauge: metrics::Gauge,
    /// Messages written to the delayed queue, redeferrals included: what deferring costs in
    /// writes.
    pub(crate) deferred_writes: metrics::Counter,
    /// Messages put in the delayed queue from outside the subscription (retried dead
    /// letters), so that an idle subscription looks at the queue again.
    pub(crate) requeued: AtomicU64,
    /// Wakes the open subscription after such a put.
    pub(crate) requeue: Notify,
}

impl SubscriberState {
    pub(crate) fn new(name: String, cursor: u64, deferred: DeferredStore) -> Self {
        let lag_gauge =
            metrics::gauge!("eventhose_hose_subscriber_lag_bytes", "subscriber" => name.clone());
        let deferred_gauge =
            metrics::gauge!("eventhose_hose_subscriber_deferred", "subscriber" => name.clone());
        let deferred_writes = metrics::counter!(
            "eventhose_hose_deferred_messages_total",
            "subscriber" => name.clone()
        );
        Self {
            deferred_totals: deferred.totals(),
            deferred: Mutex::new(deferred),
            name,
            acked: AtomicU64::new(cursor),
            persisted: AtomicU64::new(cursor),
            open: AtomicBool::new(false),
            lag_gauge,
            deferred_gauge,
            deferred_writes,
            requeued: AtomicU64::new(0),
            requeue: Notify::new(),
        }
    }

    /// Records that messages were put in the delayed queue from outside the subscription.
    pub(crate) fn note_requeued(&self) {
        self.requeued.fetch_add(1, Ordering::AcqRel);
        self.requeue.notify_one();
    }

    /// Bytes between the acknowledged position and `end`.
    pub(crate) fn lag(&self, end: u64) -> u64 {
        end.saturating_sub(self.acked.load(Ordering::Acquire))
    }

    /// Publishes the lag and delayed-queue gauges.
    pub(crate) fn report_lag(&self, end: u64) {
        self.lag_gauge.set(self.lag(end) as f64);
        self.deferred_gauge.set(self.deferred_messages() as f64);
    }

    /// Zeroes the gauges (the subscriber is gone).
    pub(crate) fn clear_lag(&self) {
        self.lag_gauge.set(0.0);
        self.deferred_gauge.set(0.0);
    }

    /// Number of stored deferred messages.
    pub(crate) fn deferred_messages(&self) -> usize {
        self.deferred_totals.messages.load(Ordering::Relaxed)
    }

    /// Size of the delayed-queue file.
    pub(crate) fn deferred_file_bytes(&self) -> u64 {
        self.deferred_totals.file_bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn stats(&self, end: u64) -> SubscriberStats {
        SubscriberStats {
            name: self.name.clone(),
            lag_bytes: self.lag(end),
            acked_position: self.acked.load(Ordering::Acquire),
            deferred: self.deferred_messages(),
        }
    }
}
