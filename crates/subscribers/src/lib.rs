//! Subscribers: the ETL processes that read the hose, each with one job (the seed's
//! "Metrics ETL", "Message Events ETL", webhooks, suppressions). Each implements [`Processor`]
//! and is driven by [`run`], which owns the read → process → checkpoint → acknowledge loop.

pub mod counter;
pub mod message_events;
pub mod metrics;
pub mod suppressions;
pub mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use eventhose_hose::{Delivery, DeliveryTag, Hose, HoseError, Subscription};
use tokio::sync::watch;

pub use counter::EventCounter;
pub use message_events::{MessageEventsSubscriber, MESSAGE_EVENTS_SUBSCRIBER};
pub use metrics::{MetricsRetention, MetricsSubscriber, METRICS_SUBSCRIBER};
pub use suppressions::{SuppressionWriter, SUPPRESSIONS_SUBSCRIBER};

/// A subscriber's failure.
#[derive(Debug, thiserror::Error)]
pub enum SubscriberError {
    /// The hose failed.
    #[error("hose: {0}")]
    Hose(#[from] HoseError),
    /// The subscriber's own storage failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A message on the hose is not a valid stored event.
    #[error("bad message on the hose: {0}")]
    BadMessage(String),
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
/// [`Processor::checkpoint_interval`] (and before stopping), `start_checkpoint`; it
/// acknowledges the deliveries processed before a checkpoint only once that checkpoint's
/// [`Commit`] has succeeded: work is durable before the hose forgets it. One commit runs at a
/// time, beside the processing of later deliveries.
#[async_trait::async_trait]
pub trait Processor: Send {
    /// Handles one delivery (its work need not be durable yet).
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
}

/// Drives `processor` on the named subscription until `shutdown` turns true or the hose closes.
pub async fn run<P: Processor>(
    hose: std::sync::Arc<dyn Hose>,
    name: &str,
    mut processor: P,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SubscriberError> {
    let mut subscription = hose.subscribe(name).await?;
    // Processed, not yet in a commit.
    let mut pending: Vec<DeliveryTag> = Vec::new();
    // The commit under way and the deliveries it covers.
    let mut commit: Option<Commit> = None;
    let mut committing: Vec<DeliveryTag> = Vec::new();
    let mut ticker = tokio::time::interval(processor.checkpoint_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            done = async { commit.as_mut().expect("guarded by is_some").await }, if commit.is_some() => {
                commit = None;
                done?;
                ack(subscription.as_mut(), &mut committing).await?;
            }
            _ = ticker.tick(), if !pending.is_empty() && commit.is_none() => {
                commit = Some(processor.start_checkpoint().await?);
                committing = std::mem::take(&mut pending);
            }
            next = subscription.next() => match next {
                Ok(delivery) => {
                    processor.process(&delivery).await?;
                    pending.push(delivery.tag);
                }
                Err(HoseError::Closed) => break,
                Err(e) => return Err(e.into()),
            },
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
