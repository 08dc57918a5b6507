//! [`AmqpHose`]: the [`Hose`] trait on RabbitMQ.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhose_hose::{
    validate_subscriber_name, Admission, DeadLetter, DeadLetterPage, Hose, HoseError, HoseStats,
    Message, PublishGate, PublishReceipt, Settle, SubscriberStats, Subscription,
};
use lapin::uri::AMQPUri;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker_error::{not_connected, reply_code, unavailable, NOT_FOUND, PRECONDITION_FAILED};
use crate::config::{AmqpHoseConfig, QueueType};
use crate::registry::Registry;
use crate::session::{Outgoing, PublishFailure, Session};
use crate::stats::{inspect_subscriber, QueueStats, StatsBoard};
use crate::subscription::AmqpSubscription;
use crate::sync_util::lock;
use crate::topology::Topology;
use crate::{dead_letters, supervisor, wire};

/// How long `unregister` waits for dropped subscriptions to close their channels.
const CLOSING_GRACE: Duration = Duration::from_secs(10);
/// How long `unregister` waits for the broker to drop the consumers of closed channels.
const CONSUMERS_GRACE: Duration = Duration::from_secs(2);
/// How long `close` waits for the background tasks (the connection close included).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A [`Hose`] on a RabbitMQ broker. Create it with [`AmqpHose::connect`]; see the crate
/// documentation for the topology and the guarantees.
pub struct AmqpHose {
    inner: Arc<Inner>,
}

/// State shared by the hose handle, its subscriptions and its background tasks.
pub(crate) struct Inner {
    pub(crate) config: AmqpHoseConfig,
    pub(crate) uri: AMQPUri,
    pub(crate) topology: Topology,
    pub(crate) registry: Registry,
    pub(crate) stats: StatsBoard,
    /// The connection in use; `None` while (re)connecting.
    pub(crate) session_tx: watch::Sender<Option<Arc<Session>>>,
    /// `true` once closed (or dropped): stops the background tasks and wakes subscriptions.
    pub(crate) closed_tx: watch::Sender<bool>,
    /// Held by each publish; closed by close.
    publish_gate: PublishGate,
    /// Held while subscriber queues are declared, so that a registration and a (re)connection
    /// never miss each other: either the registration sees the new connection or the connection
    /// sees the registered name.
    pub(crate) declare_lock: tokio::sync::Mutex<()>,
    pub(crate) generations: AtomicU64,
    published_batches: AtomicU64,
    published_bytes: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    /// The connection in use, if it is up.
    pub(crate) fn live_session(&self) -> Option<Arc<Session>> {
        let session = self.session_tx.borrow().clone()?;
        if session.is_alive() {
            Some(session)
        } else {
            session.report_broken();
            None
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed_tx.borrow()
    }

    /// Notified of every change of session.
    pub(crate) fn sessions(&self) -> watch::Receiver<Option<Arc<Session>>> {
        self.session_tx.subscribe()
    }

    /// Notified when the hose closes.
    pub(crate) fn closed(&self) -> watch::Receiver<bool> {
        self.closed_tx.subscribe()
    }

    /// The state of a hose with `config` (checked), not connected yet.
    pub(crate) fn new(config: AmqpHoseConfig) -> Result<Inner, HoseError> {
        let uri = config.validate()?;
        Ok(Inner {
            topology: Topology::new(&config.options),
            config,
            uri,
            registry: Registry::new(),
            stats: StatsBoard::default(),
            session_tx: watch::channel(None).0,
            closed_tx: watch::channel(false).0,
            publish_gate: PublishGate::new(),
            declare_lock: tokio::sync::Mutex::new(()),
            generations: AtomicU64::new(0),
            published_batches: AtomicU64::new(0),
            published_bytes: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn not_connected(&self) -> HoseError {
        not_connected(&self.config.redacted_url())
    }

    /// Declares one subscriber's queues on a channel of their own.
    pub(crate) async fn declare_subscriber(
        &self,
        session: &Session,
        subscriber: &str,
    ) -> lapin::Result<()> {
        let channel = session.open_channel().await?;
        let declared = self.topology.declare_subscriber(&channel, subscriber).await;
        match &declared {
            Ok(()) => {
                let _ = channel.close(200, "declared".into()).await;
            }
            Err(error) => session.note_failure(error),
        }
        declared
    }

    /// Maps a failed publish to the hose's error, saying what was being published.
    pub(crate) fn publish_error(&self, what: &str, failure: PublishFailure) -> HoseError {
        match failure {
            PublishFailure::Unroutable { code, text } => HoseError::Unavailable(format!(
                "{what} was not stored: the broker found no queue for it ({code} {text}); is the \
                 subscriber registered?"
            )),
            other => unavailable(&format!("{what} was not confirmed by the broker"), other),
        }
    }
}

impl AmqpHose {
    /// Connects to the broker and declares the exchange. A broker that cannot be reached yet does
    /// not fail this: the hose keeps reconnecting in the background (publishes fail with
    /// [`HoseError::Unavailable`] meanwhile). Fails only on an invalid configuration. Must be
    /// called inside a Tokio runtime.
    pub async fn connect(config: AmqpHoseConfig) -> Result<Arc<AmqpHose>, HoseError> {
        let inner = Arc::new(Inner::new(config)?);
        let first = match supervisor::establish(&inner).await {
            Ok(session) => Some(session),
            Err(error) => {
                tracing::warn!(
                    url = %inner.config.redacted_url(),
                    %error,
                    "cannot reach the RabbitMQ broker yet; retrying in the background"
                );
                None
            }
        };
        let tasks = [
            tokio::spawn(supervisor::run(Arc::clone(&inner), first)),
            tokio::spawn(supervisor::poll_stats(Arc::clone(&inner))),
        ];
        lock(&inner.tasks).extend(tasks);
        Ok(Arc::new(AmqpHose { inner }))
    }

    /// The configuration in use.
    pub fn config(&self) -> &AmqpHoseConfig {
        &self.inner.config
    }

    /// Whether a connection to the broker is up right now.
    pub fn is_connected(&self) -> bool {
        self.inner.live_session().is_some()
    }

    /// Waits until a connection is up, failing with [`HoseError::Unavailable`] after `within`
    /// (or [`HoseError::Closed`] once closed).
    pub async fn wait_until_connected(&self, within: Duration) -> Result<(), HoseError> {
        let mut sessions = self.inner.session_tx.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.inner.is_closed() {
                return Err(HoseError::Closed);
            }
            if self.is_connected() {
                return Ok(());
            }
            let changed = tokio::time::timeout_at(deadline, sessions.changed()).await;
            if !matches!(changed, Ok(Ok(()))) {
                return Err(self.inner.not_connected());
            }
        }
    }

    /// The latest queue statistics of every registered subscriber (refreshed in the background
    /// every `stats_interval_ms`).
    pub fn queue_stats(&self) -> Vec<QueueStats> {
        self.inner.stats.snapshot()
    }

    /// Asks the broker now for one subscriber's queue statistics (recorded for registered
    /// subscribers). [`HoseError::UnknownSubscriber`] when its work queue does not exist.
    pub async fn inspect(&self, subscriber: &str) -> Result<QueueStats, HoseError> {
        validate_subscriber_name(subscriber)?;
        let inner = &self.inner;
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        let mut channel = None;
        let found = inspect_subscriber(&session, &mut channel, &inner.topology, subscriber)
            .await
            .map_err(|e| unavailable("reading queue statistics", e))?;
        if let Some(channel) = channel {
            let _ = channel.close(200, "statistics read".into()).await;
        }
        let stats = found.ok_or_else(|| HoseError::UnknownSubscriber(subscriber.to_owned()))?;
        inner.stats.record(&inner.topology, stats.clone());
        Ok(stats)
    }

    /// Refreshes the statistics of every registered subscriber now.
    pub async fn refresh_stats(&self) -> Result<(), HoseError> {
        let inner = &self.inner;
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        inner
            .stats
            .refresh(&session, &inner.topology, &inner.stats.tracked())
            .await
            .map_err(|e| unavailable("reading queue statistics", e))
    }

    /// Name of the subscriber's work queue (`{prefix}{name}`).
    pub fn work_queue(&self, subscriber: &str) -> String {
        self.inner.topology.work_queue(subscriber)
    }

    /// Name of the subscriber's dead-letter queue (`{prefix}{name}.dead`).
    pub fn dead_queue(&self, subscriber: &str) -> String {
        self.inner.topology.dead_queue(subscriber)
    }

    fn ensure_open(&self) -> Result<(), HoseError> {
        if self.inner.is_closed() {
            return Err(HoseError::Closed);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Hose for AmqpHose {
    async fn publish(&self, batch: Vec<Message>) -> Result<PublishReceipt, HoseError> {
        let inner = &self.inner;
        let messages = batch.len();
        let bytes = wire::encoded_len(&batch);
        let max_bytes = inner.config.options.max_batch_bytes;
        let pass = match inner.publish_gate.admit(messages, bytes, max_bytes).await? {
            Admission::Publish(pass) => pass,
            Admission::Empty(receipt) => return Ok(receipt),
        };
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        if session.is_blocked() {
            return Err(HoseError::Unavailable(
                "the broker has blocked publishing (a memory or disk alarm); nothing was stored"
                    .into(),
            ));
        }
        let message = Outgoing {
            exchange: inner.topology.exchange(),
            routing_key: String::new(),
            body: wire::encode_batch(&batch)?,
            properties: wire::properties(None),
        };
        session
            .publish(message)
            .await
            .map_err(|failure| inner.publish_error("the batch", failure))?;
        inner.published_batches.fetch_add(1, Ordering::Relaxed);
        inner.published_bytes.fetch_add(bytes, Ordering::Relaxed);
        drop(pass);
        Ok(PublishReceipt {
            position: None,
            messages,
        })
    }

    async fn subscribe(&self, subscriber: &str) -> Result<Box<dyn Subscription>, HoseError> {
        validate_subscriber_name(subscriber)?;
        self.ensure_open()?;
        self.register(subscriber).await?;
        Ok(Box::new(AmqpSubscription::new(
            Arc::clone(&self.inner),
            subscriber,
        )))
    }

    async fn register(&self, subscriber: &str) -> Result<(), HoseError> {
        validate_subscriber_name(subscriber)?;
        self.ensure_open()?;
        let inner = &self.inner;
        let _declaring = inner.declare_lock.lock().await;
        let new = inner.registry.insert(subscriber);
        // Without a connection the name is remembered: the queues are declared on connecting,
        // before any publish can happen.
        let Some(session) = inner.live_session() else {
            inner.stats.track(&inner.topology, subscriber);
            return Ok(());
        };
        match inner.declare_subscriber(&session, subscriber).await {
            Ok(()) => {
                inner.stats.track(&inner.topology, subscriber);
                Ok(())
            }
            Err(error) if reply_code(&error) == Some(PRECONDITION_FAILED) => {
                if new {
                    inner.registry.remove(subscriber);
                }
                Err(HoseError::InvalidConfig(format!(
                    "the broker refused the queues of subscriber `{subscriber}` (queue `{}` \
                     exists with other arguments, e.g. another queue_type): {error}",
                    inner.topology.work_queue(subscriber)
                )))
            }
            Err(error) => Err(unavailable(
                &format!("declaring the queues of subscriber `{subscriber}`"),
                error,
            )),
        }
    }

    async fn unregister(&self, subscriber: &str) -> Result<(), HoseError> {
        validate_subscriber_name(subscriber)?;
        self.ensure_open()?;
        let inner = &self.inner;
        let topology = &inner.topology;
        if inner.registry.open_subscriptions(subscriber) > 0 {
            return Err(HoseError::AlreadySubscribed(subscriber.to_owned()));
        }
        if !inner.registry.wait_closed(subscriber, CLOSING_GRACE).await {
            tracing::warn!(
                subscriber,
                "dropped subscriptions are still closing their channels"
            );
        }
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        let _declaring = inner.declare_lock.lock().await;
        let failed = |e: lapin::Error| {
            session.note_failure(&e);
            unavailable(
                &format!("deleting the queues of subscriber `{subscriber}`"),
                e,
            )
        };
        let channel = session.open_channel().await.map_err(failed)?;
        let work_queue = topology.work_queue(subscriber);
        // Consumers still reading it (in another process, or just closed here: a quorum queue
        // counts a closed channel's consumer a little longer) keep it. Quorum queues do not
        // support `if-unused` deletes, so this check stands in for one.
        let consumers_gone_by = tokio::time::Instant::now() + CONSUMERS_GRACE;
        loop {
            match topology.inspect(&channel, &work_queue).await {
                Ok(queue) if queue.consumer_count() == 0 => break,
                Ok(_) if tokio::time::Instant::now() < consumers_gone_by => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(_) => return Err(HoseError::AlreadySubscribed(subscriber.to_owned())),
                Err(error) if reply_code(&error) == Some(NOT_FOUND) => {
                    inner.registry.remove(subscriber);
                    inner.stats.forget(topology, subscriber);
                    return Err(HoseError::UnknownSubscriber(subscriber.to_owned()));
                }
                Err(error) => return Err(failed(error)),
            }
        }
        let if_unused = inner.config.options.queue_type == QueueType::Classic;
        match topology.delete(&channel, &work_queue, if_unused).await {
            Ok(_) => {}
            Err(error) if reply_code(&error) == Some(PRECONDITION_FAILED) => {
                return Err(HoseError::AlreadySubscribed(subscriber.to_owned()));
            }
            Err(error) => return Err(failed(error)),
        }
        inner.registry.remove(subscriber);
        inner.stats.forget(topology, subscriber);
        for queue in topology.all_wait_queues(subscriber) {
            topology
                .delete(&channel, &queue, false)
                .await
                .map_err(failed)?;
        }
        topology
            .delete(&channel, &topology.dead_queue(subscriber), false)
            .await
            .map_err(failed)?;
        let _ = channel.close(200, "unregistered".into()).await;
        tracing::info!(
            subscriber,
            "unregistered hose subscriber and deleted its queues"
        );
        Ok(())
    }

    fn stats(&self) -> HoseStats {
        let inner = &self.inner;
        let batches = inner.published_batches.load(Ordering::Relaxed);
        let bytes = inner.published_bytes.load(Ordering::Relaxed);
        let mean_batch_bytes = bytes.checked_div(batches).unwrap_or(0);
        HoseStats {
            end_position: batches,
            subscribers: inner
                .stats
                .snapshot()
                .into_iter()
                .map(|queue| SubscriberStats {
                    name: queue.subscriber,
                    lag_bytes: queue.messages.saturating_mul(mean_batch_bytes),
                    acked_position: 0,
                    deferred: 0,
                })
                .collect(),
            segments: 0,
            disk_bytes: 0,
            retained_from: None,
        }
    }

    /// Connected to the broker (and not closed).
    fn is_available(&self) -> bool {
        !self.inner.is_closed() && self.is_connected()
    }

    /// The consumers of the subscriber's work queue, as the statistics poll last saw them.
    fn consumers(&self, subscriber: &str) -> Option<u64> {
        self.inner.stats.consumers(subscriber)
    }

    async fn dead_letters(
        &self,
        subscriber: &str,
        limit: usize,
    ) -> Result<DeadLetterPage, HoseError> {
        dead_letters::list(&self.inner, subscriber, limit).await
    }

    async fn dead_letter(
        &self,
        subscriber: &str,
        id: &str,
    ) -> Result<Option<DeadLetter>, HoseError> {
        dead_letters::find(&self.inner, subscriber, id).await
    }

    async fn settle_dead_letter(
        &self,
        subscriber: &str,
        id: &str,
        settle: Settle,
    ) -> Result<bool, HoseError> {
        dead_letters::settle(&self.inner, subscriber, id, settle).await
    }

    async fn close(&self) -> Result<(), HoseError> {
        let inner = &self.inner;
        if !inner.publish_gate.close().await {
            return Ok(());
        }
        inner.closed_tx.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = lock(&inner.tasks).drain(..).collect();
        for task in tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("a hose background task did not stop in time");
            }
        }
        tracing::info!(prefix = %inner.config.options.prefix, "closed the RabbitMQ hose");
        Ok(())
    }
}

impl Drop for AmqpHose {
    /// Dropping without `close` (a crash, as far as the broker can tell) stops the background
    /// tasks; the connection closes with them and the broker requeues every unacknowledged
    /// delivery.
    fn drop(&mut self) {
        self.inner.closed_tx.send_replace(true);
    }
}
