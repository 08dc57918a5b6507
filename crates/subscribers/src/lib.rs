//! Subscribers: the ETL processes that read the hose, each with one job (the seed's
//! "Metrics ETL", "Message Events ETL", webhooks, suppressions). Each implements [`Processor`]
//! and is driven by [`run`], which owns the read → process → checkpoint → acknowledge loop.

mod applied;
pub mod counter;
pub mod message_events;
pub mod metrics;
pub mod suppressions;
pub mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use eventhose_hose::{Delivery, DeliveryTag, Hose, HoseError, Rejected, Subscription};
use eventhose_model::DedupWindow;
use tokio::sync::watch;

pub use counter::EventCounter;
pub use message_events::{MessageEventsSubscriber, MESSAGE_EVENTS_SUBSCRIBER};
pub use metrics::{MetricsRetention, MetricsSubscriber, METRICS_SUBSCRIBER};
pub use suppressions::{SuppressionWriter, SUPPRESSIONS_SUBSCRIBER};

/// How long every stateful subscriber remembers the events it applied, by default: a day, so a
/// client retrying or a source re-reading its input within a day is recognised and the repeat
/// ignored; and at most a million events (about 27 MB), which at 1,000 events/s is the last
/// 17 minutes.
pub const DEFAULT_DEDUP_WINDOW: DedupWindow = DedupWindow {
    minutes: 1_440,
    max_events: 1_000_000,
};

/// A subscriber's failure.
#[derive(Debug, thiserror::Error)]
pub enum SubscriberError {
    /// The hose failed.
    #[error("hose: {0}")]
    Hose(#[from] HoseError),
    /// The subscriber's own storage failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Message `index` of a delivery is not what the subscriber reads (a stored event, or a
    /// webhook batch of its own): it is set aside as a dead letter, and the rest goes on.
    #[error("bad message {index} of a delivery: {reason}")]
    BadMessage {
        /// Its place in the delivery.
        index: usize,
        /// Why it cannot be read.
        reason: String,
    },
    /// A task of the subscriber panicked, or a lock it shares was poisoned: a bug.
    #[error("{0}")]
    Internal(String),
    /// The analytic store failed.
    #[error("{0}")]
    Analytics(#[from] eventhose_analytics::AnalyticsError),
    /// The state store failed.
    #[error("{0}")]
    State(#[from] eventhose_state::StateError),
}

/// Runs blocking storage work on the blocking pool; a panic there is reported as an I/O error.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, SubscriberError>
where
    T: Send + 'static,
    E: Into<SubscriberError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .map_err(Into::into)
}

/// The work that makes one checkpoint durable. It owns what it writes, so the runner can process
/// later deliveries while it runs.
pub type Commit = Pin<Box<dyn Future<Output = Result<(), SubscriberError>> + Send>>;

/// A [`Commit`] for work that is already durable.
pub fn already_durable() -> Commit {
    Box::pin(async { Ok(()) })
}

/// The job of one subscriber.
///
/// [`run`] calls `process` for each delivery and, at most every
/// [`Processor::checkpoint_interval`] (and before stopping, or while idle when
/// [`Processor::idle_checkpoint_due`] says so), `start_checkpoint`; it
/// acknowledges the deliveries processed before a checkpoint only once that checkpoint's
/// [`Commit`] has succeeded: work is durable before the hose forgets it. One commit runs at a
/// time, beside the processing of later deliveries; a checkpoint that falls due meanwhile
/// starts as soon as it ends. At most [`MAX_PENDING_MESSAGES`] wait beside a commit: then
/// reading pauses, so a store slower than reading bounds memory instead of growing every batch.
#[async_trait::async_trait]
pub trait Processor: Send {
    /// Handles one delivery (its work need not be durable yet).
    ///
    /// A message it cannot read fails the call with [`SubscriberError::BadMessage`], after the
    /// messages before it were processed and before any after it: [`run`] sets that one aside
    /// as a dead letter and calls again with the rest of the delivery (perhaps none).
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError>;
    /// Makes everything processed so far durable.
    async fn checkpoint(&mut self) -> Result<(), SubscriberError> {
        self.start_checkpoint().await?.await
    }
    /// Takes everything processed so far and returns the work that makes it durable, which may
    /// run while later deliveries are processed.
    async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError>;
    /// How often to checkpoint while deliveries keep coming.
    fn checkpoint_interval(&self) -> Duration {
        Duration::from_millis(100)
    }
    /// Whether a checkpoint is due although nothing was processed since the last one (asked
    /// at each tick of the interval while idle): the maintenance a checkpoint runs, such as
    /// retention, must not wait for the next event.
    fn idle_checkpoint_due(&self) -> bool {
        false
    }
}

/// How many processed messages may wait for a checkpoint before reading pauses (or, with no
/// commit running, one starts at once).
pub const MAX_PENDING_MESSAGES: usize = 200_000;

/// Drives `processor` on the named subscription until `shutdown` turns true or the hose closes.
pub async fn run<P: Processor>(
    hose: std::sync::Arc<dyn Hose>,
    name: &str,
    mut processor: P,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SubscriberError> {
    let mut subscription = hose.subscribe(name).await?;
    dead_letters_counter(name).increment(0);
    // Processed, not yet in a commit.
    let mut pending: Vec<DeliveryTag> = Vec::new();
    // The commit under way and the deliveries it covers.
    let mut commit: Option<Commit> = None;
    let mut committing: Vec<DeliveryTag> = Vec::new();
    let mut ticker = tokio::time::interval(processor.checkpoint_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut idle_ticker = tokio::time::interval(processor.checkpoint_interval());
    idle_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages in `pending`; reading pauses at `MAX_PENDING_MESSAGES` until a commit can take them.
    let mut pending_messages = 0;
    // A checkpoint fell due while the last commit ran: the next one starts when it ends.
    let mut checkpoint_due = false;
    loop {
        let full = pending_messages >= MAX_PENDING_MESSAGES;
        let start = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            done = async { commit.as_mut().expect("guarded by is_some").await }, if commit.is_some() => {
                commit = None;
                done?;
                ack(subscription.as_mut(), &mut committing).await?;
                (std::mem::take(&mut checkpoint_due) || full) && !pending.is_empty()
            }
            _ = ticker.tick(), if !pending.is_empty() && !checkpoint_due => {
                checkpoint_due = commit.is_some();
                commit.is_none()
            }
            // While idle, each tick of its own asks the processor whether its maintenance is
            // due (a timer apart, so that the first delivery after a quiet spell still finds
            // the checkpoint tick due at once).
            _ = idle_ticker.tick(), if pending.is_empty() && commit.is_none() => {
                processor.idle_checkpoint_due()
            }
            next = subscription.next(), if !full => match next {
                Ok(delivery) => {
                    let tag = delivery.tag.clone();
                    pending_messages +=
                        process_delivery(&mut processor, subscription.as_mut(), name, delivery)
                            .await?;
                    pending.push(tag);
                    commit.is_none() && pending_messages >= MAX_PENDING_MESSAGES
                }
                Err(HoseError::Closed) => break,
                Err(e) => return Err(e.into()),
            },
        };
        if start {
            commit = Some(processor.start_checkpoint().await?);
            committing = std::mem::take(&mut pending);
            pending_messages = 0;
            checkpoint_due = false;
        }
    }
    if let Some(commit) = commit {
        commit.await?;
        ack(subscription.as_mut(), &mut committing).await?;
    }
    if !pending.is_empty() {
        processor.checkpoint().await?;
        ack(subscription.as_mut(), &mut pending).await?;
    }
    Ok(())
}

/// Has `processor` process `delivery`, setting aside each message it cannot read; returns how
/// many messages the delivery held.
async fn process_delivery<P: Processor>(
    processor: &mut P,
    subscription: &mut dyn Subscription,
    subscriber: &str,
    mut delivery: Delivery,
) -> Result<usize, SubscriberError> {
    let messages = delivery.messages.len();
    loop {
        match processor.process(&delivery).await {
            Ok(()) => return Ok(messages),
            Err(SubscriberError::BadMessage { index, reason })
                if index < delivery.messages.len() =>
            {
                let message = delivery.messages[index].clone();
                let rejected = Rejected {
                    message,
                    attempt: delivery.attempt,
                    reason,
                };
                set_aside(subscription, subscriber, rejected).await?;
                delivery.messages.drain(..=index);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Moves a message the subscriber cannot read to its dead letters, where an operator can
/// inspect, retry or drop it (`eventhose dead-letters`), and counts it
/// (`eventhose_dead_letters_total`).
pub(crate) async fn set_aside(
    subscription: &mut dyn Subscription,
    subscriber: &str,
    rejected: Rejected,
) -> Result<(), SubscriberError> {
    tracing::warn!(subscriber, reason = %rejected.reason, bytes = rejected.message.len(), "a message the subscriber cannot read is set aside as a dead letter");
    subscription.dead_letter(rejected).await?;
    dead_letters_counter(subscriber).increment(1);
    Ok(())
}

/// `eventhose_dead_letters_total{subscriber}`: the messages it set aside. Each subscriber
/// exports it from its start, at 0, so that the first one counts as an increase.
pub(crate) fn dead_letters_counter(subscriber: &str) -> ::metrics::Counter {
    ::metrics::counter!("eventhose_dead_letters_total", "subscriber" => subscriber.to_owned())
}

/// Acknowledges `tags` (a closed hose has nothing left to acknowledge).
async fn ack(
    subscription: &mut dyn Subscription,
    tags: &mut Vec<DeliveryTag>,
) -> Result<(), SubscriberError> {
    for tag in tags.drain(..) {
        match subscription.ack(&tag).await {
            Ok(()) | Err(HoseError::Closed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod runner_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use eventhose_hose::embedded::{EmbeddedConfig, EmbeddedHose};
    use tokio::sync::Semaphore;

    /// Counts the messages it processes; each commit waits for a permit.
    struct HeldCommits {
        processed: Arc<AtomicUsize>,
        permits: Arc<Semaphore>,
    }

    #[async_trait::async_trait]
    impl Processor for HeldCommits {
        async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
            self.processed
                .fetch_add(delivery.messages.len(), Ordering::SeqCst);
            Ok(())
        }

        async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
            let permits = self.permits.clone();
            Ok(Box::pin(async move {
                permits
                    .acquire()
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .forget();
                Ok(())
            }))
        }

        fn checkpoint_interval(&self) -> Duration {
            Duration::from_millis(10)
        }
    }

    /// Processes nothing; counts its checkpoints and wants one 20 ms after the last.
    struct IdleMaintenance {
        checkpoints: Arc<AtomicUsize>,
        last: std::time::Instant,
    }

    #[async_trait::async_trait]
    impl Processor for IdleMaintenance {
        async fn process(&mut self, _delivery: &Delivery) -> Result<(), SubscriberError> {
            Ok(())
        }

        async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
            self.checkpoints.fetch_add(1, Ordering::SeqCst);
            self.last = std::time::Instant::now();
            Ok(already_durable())
        }

        fn checkpoint_interval(&self) -> Duration {
            Duration::from_millis(10)
        }

        fn idle_checkpoint_due(&self) -> bool {
            self.last.elapsed() >= Duration::from_millis(20)
        }
    }

    /// Retention runs inside checkpoints: a subscriber that gets no event still checkpoints
    /// whenever it says its maintenance is due, again and again (not due right after one).
    #[tokio::test]
    async fn an_idle_subscriber_checkpoints_when_its_maintenance_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let hose: Arc<dyn Hose> = EmbeddedHose::open(dir.path(), EmbeddedConfig::default())
            .await
            .unwrap();
        hose.register("quiet").await.unwrap();
        let checkpoints = Arc::new(AtomicUsize::new(0));
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(run(
            hose.clone(),
            "quiet",
            IdleMaintenance {
                checkpoints: checkpoints.clone(),
                last: std::time::Instant::now(),
            },
            stopping,
        ));
        wait_for("idle checkpoints", || {
            checkpoints.load(Ordering::SeqCst) >= 3
        })
        .await;
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        hose.close().await.unwrap();
    }

    async fn wait_for(what: &str, done: impl Fn() -> bool) {
        for _ in 0..3_000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Paused time: the hose's blocking reads hold the clock, so it advances only while every
    /// task waits, and a window of it is exact rather than a guess.
    #[tokio::test(start_paused = true)]
    async fn reading_pauses_while_a_slow_commit_holds_the_most_pending_work() {
        let dir = tempfile::tempdir().unwrap();
        let hose: Arc<dyn Hose> = EmbeddedHose::open(dir.path(), EmbeddedConfig::default())
            .await
            .unwrap();
        hose.register("slow").await.unwrap();
        const PER_DELIVERY: usize = 1_000;
        let total = MAX_PENDING_MESSAGES + 100 * PER_DELIVERY;
        let batch = vec![bytes::Bytes::from_static(b"{}"); PER_DELIVERY];
        for _ in 0..total / PER_DELIVERY {
            hose.publish(batch.clone()).await.unwrap();
        }
        let processed = Arc::new(AtomicUsize::new(0));
        let permits = Arc::new(Semaphore::new(0));
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(run(
            hose.clone(),
            "slow",
            HeldCommits {
                processed: processed.clone(),
                permits: permits.clone(),
            },
            stopping,
        ));

        // The first commit starts with what came before the first tick, and is held; reading
        // goes on until the most pending work waits beside it, then stops.
        wait_for("the pending work to fill", || {
            processed.load(Ordering::SeqCst) >= MAX_PENDING_MESSAGES
        })
        .await;
        // The claim is that nothing more is read: let a second of (paused) time pass, which
        // it does only once the runner is stuck beside the held commit.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let held = processed.load(Ordering::SeqCst);
        assert!(
            held < total - 50 * PER_DELIVERY,
            "reading went on beside the held commit: {held} of {total} processed"
        );

        // Released commits let the rest through.
        permits.add_permits(1_000);
        wait_for("every message", || {
            processed.load(Ordering::SeqCst) == total
        })
        .await;
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        hose.close().await.unwrap();
    }
}
