//! The `Hose` and `Subscription` contract shared by every implementation.
//!
//! # Guarantees
//!
//! * **Durability.** A publish that returned `Ok` survives a crash; a publish that returned `Err` may or may
//!   not have been stored (callers retry, consumers tolerate duplicates).
//! * **At-least-once.** Every subscriber registered before a publish started receives its messages at least
//!   once. A delivery not acknowledged before a restart is delivered again after it.
//! * **Stream order.** Each subscriber receives stream records in one total order, the same for all
//!   subscribers; a publish that completed before another started comes first. Messages of one batch stay
//!   together, in batch order, in one delivery. After a restart, redelivery resumes at the oldest
//!   unacknowledged record, so records acknowledged out of order after it may be delivered again.
//! * **Deferred messages.** A deferred message is never delivered before its delay has elapsed. Due deferred
//!   messages are delivered before further stream records, earliest due time first. There is no ordering
//!   between a deferred message and stream records beyond that.
//! * **Backpressure.** Publishing fails fast with [`HoseError::Backlogged`] or [`HoseError::DiskFull`]
//!   instead of growing without bound; both clear by themselves.

use std::time::Duration;

use crate::{
    DeadLetter, DeadLetterPage, Delivery, DeliveryTag, HoseError, HoseStats, Message,
    PublishReceipt, Rejected, Settle,
};

/// A durable fan-out log: every registered subscriber sees every published message.
#[async_trait::async_trait]
pub trait Hose: Send + Sync + 'static {
    /// Appends `batch` durably (on stable storage when this returns Ok) and makes it visible to every subscriber.
    /// Fails with [`HoseError::Backlogged`] / [`HoseError::DiskFull`] / [`HoseError::Closed`] instead of growing
    /// without bound. An empty batch stores nothing and returns a receipt without position.
    async fn publish(&self, batch: Vec<Message>) -> Result<PublishReceipt, HoseError>;

    /// Opens the named subscriber's subscription (registering it if new: a new subscriber starts at the current
    /// end of the log; the binary registers all its subscribers before accepting any input). One open
    /// subscription per name at a time ([`HoseError::AlreadySubscribed`]); dropping it frees the name, and its
    /// unacknowledged deliveries come again on the next subscription.
    async fn subscribe(&self, subscriber: &str) -> Result<Box<dyn Subscription>, HoseError>;

    /// Registers without opening (so nothing published from now on is missed by it). Idempotent.
    async fn register(&self, subscriber: &str) -> Result<(), HoseError>;

    /// Removes a subscriber and its cursor and delayed queue (so retention no longer waits for it).
    /// Fails with [`HoseError::AlreadySubscribed`] while it has an open subscription.
    async fn unregister(&self, subscriber: &str) -> Result<(), HoseError>;

    /// Per-subscriber lag and totals, for /metrics and for the 429/503 decisions.
    fn stats(&self) -> HoseStats;

    /// Whether publishing can work right now as far as the hose can tell (e.g. its broker is
    /// connected); `/readyz` reports it. A local hose is always available.
    fn is_available(&self) -> bool {
        true
    }

    /// Whether the hose's own storage works, as far as it knows: `Err` with the reason while
    /// its last write failed or its disk is below the free-space floor (publishing fails
    /// meanwhile). `serve` reports it as component `hose` in `/readyz`. The default: always.
    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// How many consumers, in every process sharing the hose, read `subscriber`'s deliveries
    /// as last seen (competing consumers on a broker); `None` where only this process can (a
    /// local hose) or before it is known.
    fn consumers(&self, _subscriber: &str) -> Option<u64> {
        None
    }

    /// Makes everything published so far deletable from disk as soon as every subscriber has
    /// acknowledged it (the embedded hose seals its active segment, which retention never
    /// deletes), and returns the log's end: once [`HoseStats::retained_from`] reaches it, no
    /// byte published before this call is on disk any more. `None` where the hose cannot tell
    /// (a broker keeps its queues' storage to itself). For erasure.
    async fn seal(&self) -> Result<Option<u64>, HoseError> {
        Ok(None)
    }

    /// The dead letters of `subscriber`, oldest first, at most `limit` of them, and how many
    /// it has in all.
    async fn dead_letters(
        &self,
        subscriber: &str,
        limit: usize,
    ) -> Result<DeadLetterPage, HoseError>;

    /// The dead letter `id` of `subscriber`, if it has one.
    async fn dead_letter(
        &self,
        subscriber: &str,
        id: &str,
    ) -> Result<Option<DeadLetter>, HoseError>;

    /// Retries or drops the dead letter `id` of `subscriber`; `false` if it has none such.
    /// A retry delivers its messages to that subscriber again, as deferred deliveries with the
    /// attempt they had, and removes the dead letter once they are durably queued.
    async fn settle_dead_letter(
        &self,
        subscriber: &str,
        id: &str,
        settle: Settle,
    ) -> Result<bool, HoseError>;

    /// Flushes cursors and stops accepting publishes; in-flight publishes finish first. Open subscriptions
    /// then fail with [`HoseError::Closed`]. Idempotent.
    async fn close(&self) -> Result<(), HoseError>;
}

/// One subscriber's open view of the hose.
#[async_trait::async_trait]
pub trait Subscription: Send {
    /// Waits for the next delivery: the next stream record (a batch of messages, in publish order), or a deferred
    /// message whose delay has elapsed (deferred ones that are due are served first). Returns Err(Closed) after
    /// close().
    ///
    /// Cancel-safe: a `next` future dropped before it completes (for instance as the losing
    /// branch of a `select!`) loses no delivery; the next call returns it.
    async fn next(&mut self) -> Result<Delivery, HoseError>;

    /// Acknowledges a delivery: it will not be delivered again. Stream deliveries may be acked out of order; the
    /// durable cursor advances over the contiguous acknowledged prefix. Unacknowledged deliveries come again after
    /// a restart. Acknowledging the same delivery twice is harmless.
    async fn ack(&mut self, delivery: &DeliveryTag) -> Result<(), HoseError>;

    /// Durably schedules `message` to be delivered to THIS subscriber again after `delay`, carrying `attempt`
    /// (the webhook retry queue). Returns once durable. The caller usually acks the original delivery afterwards.
    async fn defer(
        &mut self,
        message: Message,
        delay: Duration,
        attempt: u32,
    ) -> Result<(), HoseError>;

    /// Durably sets `rejected` aside in THIS subscriber's dead letters, where it waits for an
    /// operator; the caller then acknowledges the delivery that held it. Setting the same
    /// message aside again (its delivery came again) is harmless.
    async fn dead_letter(&mut self, rejected: Rejected) -> Result<(), HoseError>;

    /// [`defer`](Self::defer) for several messages, made durable together (on the embedded
    /// hose, one sync for all of them). On `Err`, some may have been stored.
    async fn defer_many(&mut self, deferrals: Vec<Deferral>) -> Result<(), HoseError> {
        for deferral in deferrals {
            self.defer(deferral.message, deferral.delay, deferral.attempt)
                .await?;
        }
        Ok(())
    }

    /// Passes every message of THIS subscriber's delayed queue through `rewrite` and rewrites
    /// the queue's storage with the results, leaving nothing on disk of what it replaced,
    /// dropped or had delivered before (for erasure). Due times, attempts and the tags of
    /// messages in flight stay as they were; acknowledging a dropped one is harmless. `None`
    /// where the queue is not this process's to rewrite (a broker's delay queues).
    async fn rewrite_deferred(
        &mut self,
        _rewrite: Rewriter,
    ) -> Result<Option<RewriteReport>, HoseError> {
        Ok(None)
    }
}

/// One message for [`Subscription::defer_many`].
#[derive(Clone, Debug)]
pub struct Deferral {
    /// What to deliver again.
    pub message: Message,
    /// After how long.
    pub delay: Duration,
    /// The attempt it carries.
    pub attempt: u32,
}

/// What [`Subscription::rewrite_deferred`] does with one delayed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Keep it as it is.
    Keep,
    /// Keep these bytes in its place.
    Replace(Message),
    /// Remove it.
    Drop,
}

/// Decides the fate of each delayed message in [`Subscription::rewrite_deferred`].
pub type Rewriter = std::sync::Arc<dyn Fn(&[u8]) -> Rewrite + Send + Sync>;

/// What a rewrite of a delayed queue did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RewriteReport {
    /// Messages left as they were.
    pub kept: usize,
    /// Messages whose bytes were replaced.
    pub replaced: usize,
    /// Messages removed.
    pub dropped: usize,
}
