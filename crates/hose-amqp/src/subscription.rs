//! An open subscription: a consumer on the subscriber's work queue, reopened by itself after a
//! reconnect.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eventhose_hose::{Delivery, DeliveryTag, HoseError, Message, Rejected, Subscription};
use futures::StreamExt;
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use lapin::{Acker, Channel, Consumer};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::broker_error::unavailable;
use crate::hose::Inner;
use crate::session::{Outgoing, PublishFailure, Session};
use crate::topology::DEFAULT_EXCHANGE;
use crate::{dead_letters, tiers, wire};

/// How long a dropped subscription's channel is given to close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Why a consumer could not be started.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    /// The broker refused a step, or the connection failed.
    #[error("{0}")]
    Broker(#[from] lapin::Error),
    /// The task opening it panicked or was cancelled.
    #[error("the consumer task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A consumer on one connection.
struct ActiveConsumer {
    generation: u64,
    channel: Channel,
    consumer: Consumer,
}

/// What woke `next`.
enum Wake {
    /// The hose closed, the session changed, or a retry is due: look again.
    Recheck,
    /// The consumer being opened is ready (or failed).
    Opened(Result<ActiveConsumer, OpenError>),
    /// The consumer yielded an item or ended.
    Item(Option<lapin::Result<AmqpDelivery>>),
}

/// Reads the subscriber's work queue. Several subscriptions of one name, here or in other
/// processes, are competing consumers of the same queue.
pub(crate) struct AmqpSubscription {
    inner: Arc<Inner>,
    name: String,
    sessions: watch::Receiver<Option<Arc<Session>>>,
    closed: watch::Receiver<bool>,
    consumer: Option<ActiveConsumer>,
    /// A consumer being opened. It lives here, not in `next`'s future, so a `next` dropped
    /// mid-way leaves it for the following call (`next` is cancel-safe).
    opening: Option<JoinHandle<Result<ActiveConsumer, OpenError>>>,
    retry_at: Option<Instant>,
    retry_delay: Duration,
    /// Deliveries handed out and not acknowledged, by the id inside their tag.
    unacked: HashMap<u64, Acker>,
    next_id: u64,
}

impl AmqpSubscription {
    /// Opens a subscription of `name` (registered by the caller) and starts its consumer.
    pub(crate) fn new(inner: Arc<Inner>, name: &str) -> Self {
        inner.registry.subscription_opened(name);
        let mut subscription = Self {
            sessions: inner.sessions(),
            closed: inner.closed(),
            retry_delay: inner.config.options.reconnect_min(),
            inner,
            name: name.to_owned(),
            consumer: None,
            opening: None,
            retry_at: None,
            unacked: HashMap::new(),
            next_id: 0,
        };
        subscription.start_opening();
        subscription
    }

    /// Starts opening a consumer when none is open or opening, a connection is up, and no retry
    /// pause is running.
    fn start_opening(&mut self) {
        if self.consumer.is_some() || self.opening.is_some() {
            return;
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        let Some(session) = self.inner.live_session() else {
            return;
        };
        self.retry_at = None;
        let inner = Arc::clone(&self.inner);
        let name = self.name.clone();
        self.opening = Some(tokio::spawn(async move {
            open_consumer(&inner, &session, &name)
                .await
                .map_err(|error| {
                    session.note_failure(&error);
                    OpenError::Broker(error)
                })
        }));
    }

    /// Forgets the current consumer (its connection is gone or it was cancelled); dropping its
    /// channel closes it, and the broker requeues what it had not seen acknowledged.
    fn drop_consumer(&mut self) {
        self.consumer = None;
        self.unacked.clear();
    }

    fn schedule_retry(&mut self) {
        self.retry_at = Some(Instant::now() + self.retry_delay);
        self.retry_delay = (self.retry_delay * 2).min(self.inner.config.options.reconnect_max());
    }

    fn live_generation(&self) -> Option<u64> {
        self.inner.live_session().map(|session| session.generation)
    }

    /// Turns a broker delivery into a hose delivery; `None` (after dead-lettering it) when its body
    /// is not a batch.
    fn accept(&mut self, delivery: AmqpDelivery) -> Option<Delivery> {
        let attempt = wire::attempt_of(&delivery.properties);
        match wire::decode_batch(delivery.data) {
            Ok(messages) => {
                let id = self.next_id;
                self.next_id += 1;
                self.unacked.insert(id, delivery.acker);
                Some(Delivery {
                    tag: DeliveryTag::external(id),
                    messages,
                    attempt,
                    position: None,
                })
            }
            Err(error) => {
                tracing::error!(
                    subscriber = %self.name,
                    %error,
                    "unreadable message in the work queue; moving it to the dead-letter queue"
                );
                let acker = delivery.acker;
                tokio::spawn(async move {
                    let _ = acker.reject(BasicRejectOptions { requeue: false }).await;
                });
                None
            }
        }
    }

    /// Waits for whatever can change the subscription's state. Every branch is cancel-safe.
    async fn wake(&mut self) -> Wake {
        let Self {
            sessions,
            closed,
            consumer,
            opening,
            retry_at,
            ..
        } = self;
        let retry_due = retry_at.filter(|_| consumer.is_none() && opening.is_none());
        tokio::select! {
            biased;
            _ = closed.changed() => Wake::Recheck,
            _ = sessions.changed() => Wake::Recheck,
            opened = join_opening(opening) => Wake::Opened(opened),
            _ = sleep_until_some(retry_due) => Wake::Recheck,
            item = next_item(consumer) => Wake::Item(item),
        }
    }
}

/// The result of the consumer being opened; pending forever when none is.
async fn join_opening(
    opening: &mut Option<JoinHandle<Result<ActiveConsumer, OpenError>>>,
) -> Result<ActiveConsumer, OpenError> {
    match opening.as_mut() {
        Some(task) => match task.await {
            Ok(result) => result,
            Err(error) => Err(OpenError::Task(error)),
        },
        None => std::future::pending().await,
    }
}

/// The consumer's next item; pending forever without a consumer.
async fn next_item(consumer: &mut Option<ActiveConsumer>) -> Option<lapin::Result<AmqpDelivery>> {
    match consumer.as_mut() {
        Some(active) => active.consumer.next().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`; pending forever without one.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Opens a channel with the prefetch bound, makes sure the queues exist, and starts consuming
/// with manual acknowledgements.
async fn open_consumer(
    inner: &Inner,
    session: &Session,
    name: &str,
) -> lapin::Result<ActiveConsumer> {
    let channel = session.open_channel().await?;
    channel
        .basic_qos(
            inner.config.options.prefetch,
            BasicQosOptions { global: false },
        )
        .await?;
    inner.topology.declare_subscriber(&channel, name).await?;
    let consumer = channel
        .basic_consume(
            inner.topology.work_queue(name).into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(ActiveConsumer {
        generation: session.generation,
        channel,
        consumer,
    })
}

#[async_trait::async_trait]
impl Subscription for AmqpSubscription {
    async fn next(&mut self) -> Result<Delivery, HoseError> {
        loop {
            if self.inner.is_closed() {
                return Err(HoseError::Closed);
            }
            let live = self.live_generation();
            if self
                .consumer
                .as_ref()
                .is_some_and(|active| Some(active.generation) != live)
            {
                self.drop_consumer();
            }
            self.start_opening();
            match self.wake().await {
                Wake::Recheck => {}
                Wake::Opened(result) => {
                    self.opening = None;
                    match result {
                        Ok(active) => {
                            self.retry_delay = self.inner.config.options.reconnect_min();
                            self.unacked.clear();
                            self.consumer = Some(active);
                        }
                        Err(error) => {
                            tracing::warn!(subscriber = %self.name, %error, "cannot start consuming; retrying");
                            self.schedule_retry();
                        }
                    }
                }
                Wake::Item(Some(Ok(delivery))) => {
                    if let Some(delivery) = self.accept(delivery) {
                        return Ok(delivery);
                    }
                }
                Wake::Item(Some(Err(error))) => {
                    tracing::warn!(subscriber = %self.name, %error, "consumer failed; resubscribing");
                    if let Some(session) = self.inner.live_session() {
                        session.note_failure(&error);
                    }
                    self.drop_consumer();
                    self.schedule_retry();
                }
                Wake::Item(None) => {
                    tracing::info!(subscriber = %self.name, "consumer cancelled; resubscribing");
                    self.drop_consumer();
                    self.schedule_retry();
                }
            }
        }
    }

    async fn ack(&mut self, delivery: &DeliveryTag) -> Result<(), HoseError> {
        let id = delivery
            .external_id()
            .filter(|id| *id < self.next_id)
            .ok_or_else(|| HoseError::UnknownDelivery(format!("{delivery:?}")))?;
        // Absent: acknowledged before, or its channel is gone and the broker redelivers it.
        let Some(acker) = self.unacked.remove(&id) else {
            return Ok(());
        };
        // Bounded: an ack sent while its connection is being torn down may never settle, and
        // an ack the broker did not see only means a redelivery.
        let acked = tokio::time::timeout(
            self.inner.config.options.publish_timeout(),
            acker.ack(BasicAckOptions::default()),
        )
        .await;
        match acked {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::debug!(subscriber = %self.name, %error, "ack failed; the broker will redeliver");
            }
            Err(_) => {
                tracing::debug!(subscriber = %self.name, "ack timed out; the broker will redeliver");
            }
        }
        Ok(())
    }

    async fn dead_letter(&mut self, rejected: Rejected) -> Result<(), HoseError> {
        let inner = &self.inner;
        if inner.is_closed() {
            return Err(HoseError::Closed);
        }
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        let outgoing = dead_letters::outgoing(inner.topology.dead_queue(&self.name), &rejected)?;
        session
            .publish(outgoing)
            .await
            .map_err(|failure| inner.publish_error("the dead letter", failure))
    }

    async fn defer(
        &mut self,
        message: Message,
        delay: Duration,
        attempt: u32,
    ) -> Result<(), HoseError> {
        let inner = &self.inner;
        if inner.is_closed() {
            return Err(HoseError::Closed);
        }
        let batch = std::slice::from_ref(&message);
        let bytes = wire::encoded_len(batch);
        if bytes > inner.config.options.max_batch_bytes {
            return Err(HoseError::TooLarge {
                bytes,
                max_bytes: inner.config.options.max_batch_bytes,
            });
        }
        // A zero delay goes straight back to the work queue; others wait in their tier's queue.
        let tier = if delay.is_zero() {
            None
        } else {
            let tier = tiers::for_delay(delay).ok_or_else(|| {
                HoseError::InvalidConfig(format!(
                    "a defer delay of {delay:?} exceeds the longest the broker supports ({:?})",
                    tiers::MAX_DELAY
                ))
            })?;
            Some(tier)
        };
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        let routing_key = match tier {
            None => inner.topology.work_queue(&self.name),
            Some(tier_ms) => ensure_wait_queue(inner, &session, &self.name, tier_ms).await?,
        };
        let outgoing = Outgoing {
            exchange: DEFAULT_EXCHANGE.to_owned(),
            routing_key: routing_key.clone(),
            body: wire::encode_batch(batch)?,
            properties: wire::properties(Some(attempt)),
        };
        session.publish(outgoing).await.map_err(|failure| {
            if matches!(failure, PublishFailure::Unroutable { .. }) {
                // Deleted behind our back: declare it again next time.
                session.forget_wait_queue(&routing_key);
            }
            inner.publish_error("the deferred message", failure)
        })
    }
}

/// Declares the wait queue of a tier once per connection and returns its name.
async fn ensure_wait_queue(
    inner: &Inner,
    session: &Session,
    name: &str,
    tier_ms: u32,
) -> Result<String, HoseError> {
    let queue = inner.topology.wait_queue(name, tier_ms);
    if session.wait_queue_declared(&queue) {
        return Ok(queue);
    }
    let failed = |error: lapin::Error| {
        session.note_failure(&error);
        unavailable(&format!("declaring wait queue `{queue}`"), error)
    };
    let channel = session.open_channel().await.map_err(failed)?;
    inner
        .topology
        .declare_wait_queue(&channel, name, tier_ms)
        .await
        .map_err(failed)?;
    let _ = channel.close(200, "wait queue declared".into()).await;
    session.mark_wait_queue_declared(queue.clone());
    Ok(queue)
}

impl Drop for AmqpSubscription {
    /// Closes the consumer's channel in the background (its unacknowledged deliveries go back to
    /// the queue); `unregister` waits for that.
    fn drop(&mut self) {
        let registry_name = self.name.clone();
        let consumer = self.consumer.take();
        let opening = self.opening.take();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.registry.subscription_released(&registry_name);
            return;
        };
        self.inner.registry.subscription_closing(&registry_name);
        let inner = Arc::clone(&self.inner);
        runtime.spawn(async move {
            if let Some(active) = consumer {
                close_channel(&active.channel).await;
            }
            if let Some(task) = opening {
                if let Ok(Ok(active)) = task.await {
                    close_channel(&active.channel).await;
                }
            }
            inner.registry.subscription_closed(&registry_name);
        });
    }
}

async fn close_channel(channel: &Channel) {
    if channel.status().connected() {
        let closing = channel.close(200, "subscription dropped".into());
        let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[tokio::test]
    async fn a_failed_opening_task_keeps_its_join_error() {
        let mut opening: Option<JoinHandle<Result<ActiveConsumer, OpenError>>> =
            Some(tokio::spawn(async { panic!("opening failed") }));
        let error = match join_opening(&mut opening).await {
            Ok(_) => panic!("a panicked task opened a consumer"),
            Err(error) => error,
        };
        assert!(
            matches!(&error, OpenError::Task(join) if join.is_panic()),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("the consumer task failed: "));
        assert!(error
            .source()
            .is_some_and(|source| source.downcast_ref::<tokio::task::JoinError>().is_some()));
    }
}
