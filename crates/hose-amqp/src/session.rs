//! One live connection to the broker and the confirm-mode channels that publish on it.
//!
//! Each publish borrows a channel of its own from a small pool and waits for the broker's confirm
//! on it, so many publishes are in flight at once while every channel has at most one: a
//! `basic.return` (unroutable) always belongs to the one publish waiting on that channel.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::{Notify, Semaphore};

use crate::broker_error::{reply_code, NOT_FOUND};
use crate::sync_util::lock;

/// What a publish hands to the broker.
pub(crate) struct Outgoing {
    pub(crate) exchange: String,
    pub(crate) routing_key: String,
    pub(crate) body: Vec<u8>,
    pub(crate) properties: BasicProperties,
}

/// Why the broker did not take a message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PublishFailure {
    /// `basic.return`: no queue matched (the ack that follows does not make it stored).
    #[error("the broker could not route it to any queue ({code} {text})")]
    Unroutable { code: u16, text: String },
    /// `basic.nack`: the broker refused to store it.
    #[error("the broker refused to store it (nack)")]
    Nacked,
    /// No confirm within the configured time; it may or may not have been stored.
    #[error("no confirm from the broker within {0:?}; it may or may not have been stored")]
    Timeout(Duration),
    /// The channel or connection failed underneath.
    #[error("{0}")]
    Broker(#[from] lapin::Error),
    /// The publishing task ended abnormally.
    #[error("the publishing task failed: {0}")]
    Task(String),
}

/// A connection that is (or was) up, numbered in connection order.
pub(crate) struct Session {
    pub(crate) generation: u64,
    pub(crate) connection: Connection,
    idle_publishers: Mutex<Vec<Channel>>,
    publish_slots: Arc<Semaphore>,
    publish_timeout: Duration,
    broken: Notify,
    /// Set when the connection is up but its topology is not (an exchange deleted behind our
    /// back): the supervisor replaces the session, which declares everything again.
    redeclare: AtomicBool,
    /// Wait queues declared on this connection (re-declared after a reconnect).
    declared_wait_queues: Mutex<HashSet<String>>,
}

impl Session {
    pub(crate) fn new(
        generation: u64,
        connection: Connection,
        publish_channels: usize,
        publish_timeout: Duration,
    ) -> Self {
        Self {
            generation,
            connection,
            idle_publishers: Mutex::new(Vec::new()),
            publish_slots: Arc::new(Semaphore::new(publish_channels)),
            publish_timeout,
            broken: Notify::new(),
            redeclare: AtomicBool::new(false),
            declared_wait_queues: Mutex::new(HashSet::new()),
        }
    }

    /// Whether the connection is still up.
    pub(crate) fn is_alive(&self) -> bool {
        self.connection.status().connected()
    }

    /// Whether the broker has blocked publishing (memory or disk alarm).
    pub(crate) fn is_blocked(&self) -> bool {
        self.connection.status().blocked()
    }

    /// Tells the supervisor to replace this session (a user of it saw it fail).
    pub(crate) fn report_broken(&self) {
        self.broken.notify_one();
    }

    /// Resolves once someone reported the session broken.
    pub(crate) async fn broken(&self) {
        self.broken.notified().await;
    }

    /// Whether the session must be replaced although its connection is up.
    pub(crate) fn wants_redeclare(&self) -> bool {
        self.redeclare.load(Ordering::Relaxed)
    }

    /// Reports the session broken when `error` left the connection down, or when the broker
    /// no longer knows an object the topology declared (a 404 on publish).
    pub(crate) fn note_failure(&self, error: &lapin::Error) {
        if !self.is_alive() {
            tracing::debug!(%error, generation = self.generation, "broker connection lost");
            self.report_broken();
        } else if reply_code(error) == Some(NOT_FOUND) {
            tracing::warn!(%error, "the broker lost part of the topology; declaring it again");
            self.redeclare.store(true, Ordering::Relaxed);
            self.report_broken();
        }
    }

    /// A fresh channel for declarations and inspections.
    pub(crate) async fn open_channel(&self) -> lapin::Result<Channel> {
        let channel = self.connection.create_channel().await;
        if let Err(error) = &channel {
            self.note_failure(error);
        }
        channel
    }

    pub(crate) fn wait_queue_declared(&self, queue: &str) -> bool {
        lock(&self.declared_wait_queues).contains(queue)
    }

    pub(crate) fn mark_wait_queue_declared(&self, queue: String) {
        lock(&self.declared_wait_queues).insert(queue);
    }

    pub(crate) fn forget_wait_queue(&self, queue: &str) {
        lock(&self.declared_wait_queues).remove(queue);
    }

    /// Publishes `message` persistently and `mandatory`, and returns once the broker confirmed it.
    /// The work runs in a task of its own, so a caller that stops waiting leaves no channel with
    /// an unclaimed confirm behind.
    pub(crate) async fn publish(self: &Arc<Self>, message: Outgoing) -> Result<(), PublishFailure> {
        let session = Arc::clone(self);
        let task = tokio::spawn(async move { session.publish_on_a_channel(message).await });
        match task.await {
            Ok(result) => result,
            Err(error) => Err(PublishFailure::Task(error.to_string())),
        }
    }

    async fn publish_on_a_channel(&self, message: Outgoing) -> Result<(), PublishFailure> {
        let _slot = Arc::clone(&self.publish_slots)
            .acquire_owned()
            .await
            .map_err(|_| PublishFailure::Task("publish slots closed".into()))?;
        let channel = self.publisher_channel().await?;
        let outcome = self.confirmed_publish(&channel, message).await;
        match &outcome {
            // The channel finished its one confirm and is fit for the next publish.
            Ok(()) | Err(PublishFailure::Unroutable { .. } | PublishFailure::Nacked) => {
                if channel.status().connected() {
                    lock(&self.idle_publishers).push(channel);
                }
            }
            Err(PublishFailure::Broker(error)) => self.note_failure(error),
            // A confirm may still arrive on this channel: dropping it closes it.
            Err(_) => {}
        }
        outcome
    }

    async fn publisher_channel(&self) -> Result<Channel, PublishFailure> {
        loop {
            let idle = lock(&self.idle_publishers).pop();
            match idle {
                Some(channel) if channel.status().connected() => return Ok(channel),
                Some(_) => continue,
                None => break,
            }
        }
        let channel = self.open_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(channel)
    }

    async fn confirmed_publish(
        &self,
        channel: &Channel,
        message: Outgoing,
    ) -> Result<(), PublishFailure> {
        let confirm = channel
            .basic_publish(
                message.exchange.into(),
                message.routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                &message.body,
                message.properties,
            )
            .await?;
        let confirmation = tokio::time::timeout(self.publish_timeout, confirm)
            .await
            .map_err(|_| PublishFailure::Timeout(self.publish_timeout))??;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(PublishFailure::Unroutable {
                    code: returned.reply_code,
                    text: returned.reply_text.to_string(),
                })
            }
            Confirmation::Nack(None) => Err(PublishFailure::Nacked),
            Confirmation::NotRequested => Err(PublishFailure::Task(
                "the channel was not in confirm mode".into(),
            )),
        }
    }

    /// Closes the connection politely, giving up after `within`.
    pub(crate) async fn close(&self, within: Duration) {
        lock(&self.idle_publishers).clear();
        if self.is_alive() {
            let closing = self.connection.close(200, "eventhose hose closing".into());
            match tokio::time::timeout(within, closing).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::debug!(%error, "closing the broker connection failed"),
                Err(_) => tracing::debug!("closing the broker connection timed out"),
            }
        }
    }
}
