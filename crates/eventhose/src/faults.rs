//! Faults the end-to-end tests inject behind the store traits, to prove that supervision
//! restarts what fails and nothing is lost. Only debug builds read the variables; release
//! builds have no such hook.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eventhose_analytics::{
    AnalyticsError, LedgerChange, MetricsCheckpoint, MetricsWriter, RetentionReport, Tally,
};

/// `TEST_EVENTHOSE_METRICS_COMMIT_FAILURES=N`: the metrics store's first N commits fail.
const METRICS_COMMIT_FAILURES: &str = "TEST_EVENTHOSE_METRICS_COMMIT_FAILURES";

/// The metrics store the subscriber writes to: `store`, or in a debug build asked to, `store`
/// behind commits that fail.
pub fn metrics_writer(store: Arc<dyn MetricsWriter>) -> Arc<dyn MetricsWriter> {
    let failures = cfg!(debug_assertions)
        .then(|| std::env::var(METRICS_COMMIT_FAILURES).ok())
        .flatten()
        .and_then(|n| n.parse().ok());
    if let Some(failures) = failures {
        return Arc::new(FailingCommits {
            inner: store,
            failures_left: AtomicUsize::new(failures),
        });
    }
    store
}

/// A metrics store whose first commits fail, as a full disk or a lost engine would make them.
struct FailingCommits {
    inner: Arc<dyn MetricsWriter>,
    failures_left: AtomicUsize,
}

impl MetricsWriter for FailingCommits {
    fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError> {
        self.inner.checkpoint()
    }

    fn checkpoint_newest(&self, max_applied: usize) -> Result<MetricsCheckpoint, AnalyticsError> {
        self.inner.checkpoint_newest(max_applied)
    }

    fn commit(
        &self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
    ) -> Result<(), AnalyticsError> {
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(AnalyticsError::engine(std::io::Error::other(
                "injected commit failure",
            )));
        }
        self.inner.commit(tally, ledger, position)
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
        ledger_from: DateTime<Utc>,
        applied_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        self.inner
            .enforce_retention(keep_from, ledger_from, applied_from)
    }
}
