//! Names and declarations of the broker objects: the fan-out exchange, and per subscriber a work
//! queue, a dead-letter queue and the wait queues of deferred messages.

use lapin::options::{
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind, Queue};

use crate::config::{AmqpOptions, QueueType};
use crate::tiers;

/// The default exchange: routes by queue name, needs no binding.
pub(crate) const DEFAULT_EXCHANGE: &str = "";

/// Derives every name from the prefix and declares objects with the configured arguments.
#[derive(Clone, Debug)]
pub(crate) struct Topology {
    prefix: String,
    queue_type: QueueType,
    max_redeliveries: u32,
}

impl Topology {
    pub(crate) fn new(options: &AmqpOptions) -> Self {
        Self {
            prefix: options.prefix.clone(),
            queue_type: options.queue_type,
            max_redeliveries: options.max_redeliveries,
        }
    }

    /// `{prefix}events`: the durable fan-out exchange every batch is published to.
    pub(crate) fn exchange(&self) -> String {
        format!("{}events", self.prefix)
    }

    /// `{prefix}{name}`: the subscriber's work queue, bound to the exchange.
    pub(crate) fn work_queue(&self, subscriber: &str) -> String {
        format!("{}{subscriber}", self.prefix)
    }

    /// `{prefix}{name}.dead`: where messages that exhausted their deliveries end up.
    pub(crate) fn dead_queue(&self, subscriber: &str) -> String {
        format!("{}{subscriber}.dead", self.prefix)
    }

    /// `{prefix}{name}.wait.{millis}`: holds deferred messages for one delay tier.
    pub(crate) fn wait_queue(&self, subscriber: &str, tier_ms: u32) -> String {
        format!("{}{subscriber}.wait.{tier_ms}", self.prefix)
    }

    /// Declares the exchange (idempotent).
    pub(crate) async fn declare_exchange(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .exchange_declare(
                self.exchange().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
    }

    /// Declares the subscriber's dead-letter queue, work queue and binding (idempotent).
    pub(crate) async fn declare_subscriber(
        &self,
        channel: &Channel,
        subscriber: &str,
    ) -> lapin::Result<()> {
        declare_durable(channel, &self.dead_queue(subscriber), self.base_arguments()).await?;
        let work_queue = self.work_queue(subscriber);
        declare_durable(channel, &work_queue, self.work_queue_arguments(subscriber)).await?;
        channel
            .queue_bind(
                work_queue.into(),
                self.exchange().into(),
                ShortString::from(""),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }

    /// Declares the wait queue of one delay tier (idempotent).
    pub(crate) async fn declare_wait_queue(
        &self,
        channel: &Channel,
        subscriber: &str,
        tier_ms: u32,
    ) -> lapin::Result<()> {
        let name = self.wait_queue(subscriber, tier_ms);
        declare_durable(
            channel,
            &name,
            self.wait_queue_arguments(subscriber, tier_ms),
        )
        .await
        .map(drop)
    }

    /// Message and consumer counts of an existing queue (a passive declare: fails with 404 when the
    /// queue does not exist, which closes the channel).
    pub(crate) async fn inspect(&self, channel: &Channel, queue: &str) -> lapin::Result<Queue> {
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
    }

    /// Deletes a queue; deleting a queue that does not exist succeeds.
    pub(crate) async fn delete(
        &self,
        channel: &Channel,
        queue: &str,
        if_unused: bool,
    ) -> lapin::Result<u32> {
        channel
            .queue_delete(
                queue.into(),
                QueueDeleteOptions {
                    if_unused,
                    ..Default::default()
                },
            )
            .await
    }

    /// Every wait queue name a subscriber can have.
    pub(crate) fn all_wait_queues(&self, subscriber: &str) -> Vec<String> {
        tiers::all()
            .iter()
            .map(|tier| self.wait_queue(subscriber, *tier))
            .collect()
    }

    fn base_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        insert_text(&mut arguments, "x-queue-type", self.queue_type.as_str());
        arguments
    }

    /// Work queue: dead-letters through the default exchange to `.dead`; quorum queues after
    /// `max_redeliveries` redeliveries, at least once.
    fn work_queue_arguments(&self, subscriber: &str) -> FieldTable {
        let mut arguments = self.base_arguments();
        self.dead_letter_to(&mut arguments, &self.dead_queue(subscriber));
        if self.queue_type == QueueType::Quorum {
            insert_number(
                &mut arguments,
                "x-delivery-limit",
                i64::from(self.max_redeliveries),
            );
        }
        arguments
    }

    /// Wait queue: every message expires after the tier's TTL and is dead-lettered back to the
    /// subscriber's work queue through the default exchange.
    fn wait_queue_arguments(&self, subscriber: &str, tier_ms: u32) -> FieldTable {
        let mut arguments = self.base_arguments();
        insert_number(&mut arguments, "x-message-ttl", i64::from(tier_ms));
        self.dead_letter_to(&mut arguments, &self.work_queue(subscriber));
        arguments
    }

    fn dead_letter_to(&self, arguments: &mut FieldTable, queue: &str) {
        insert_text(arguments, "x-dead-letter-exchange", DEFAULT_EXCHANGE);
        insert_text(arguments, "x-dead-letter-routing-key", queue);
        if self.queue_type == QueueType::Quorum {
            // At-least-once dead-lettering needs `reject-publish` overflow; with no length limit
            // set, nothing is ever rejected for length.
            insert_text(arguments, "x-dead-letter-strategy", "at-least-once");
            insert_text(arguments, "x-overflow", "reject-publish");
        }
    }
}

async fn declare_durable(
    channel: &Channel,
    queue: &str,
    arguments: FieldTable,
) -> lapin::Result<Queue> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
}

fn insert_text(arguments: &mut FieldTable, key: &str, value: &str) {
    arguments.insert(key.into(), AMQPValue::LongString(value.into()));
}

fn insert_number(arguments: &mut FieldTable, key: &str, value: i64) {
    arguments.insert(key.into(), AMQPValue::LongLongInt(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(queue_type: QueueType) -> Topology {
        Topology::new(&AmqpOptions {
            prefix: "p.".into(),
            queue_type,
            max_redeliveries: 5,
            ..Default::default()
        })
    }

    fn text(arguments: &FieldTable, key: &str) -> Option<String> {
        match arguments.inner().get(key) {
            Some(AMQPValue::LongString(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    #[test]
    fn names_start_with_the_prefix() {
        let t = topology(QueueType::Quorum);
        assert_eq!(t.exchange(), "p.events");
        assert_eq!(t.work_queue("hooks"), "p.hooks");
        assert_eq!(t.dead_queue("hooks"), "p.hooks.dead");
        assert_eq!(t.wait_queue("hooks", 431), "p.hooks.wait.431");
        assert_eq!(t.all_wait_queues("hooks").len(), tiers::all().len());
    }

    #[test]
    fn quorum_work_queues_dead_letter_at_least_once_after_the_limit() {
        let args = topology(QueueType::Quorum).work_queue_arguments("hooks");
        assert_eq!(text(&args, "x-queue-type").as_deref(), Some("quorum"));
        assert_eq!(text(&args, "x-dead-letter-exchange").as_deref(), Some(""));
        assert_eq!(
            text(&args, "x-dead-letter-routing-key").as_deref(),
            Some("p.hooks.dead")
        );
        assert_eq!(
            text(&args, "x-dead-letter-strategy").as_deref(),
            Some("at-least-once")
        );
        assert_eq!(text(&args, "x-overflow").as_deref(), Some("reject-publish"));
        assert_eq!(
            args.inner().get("x-delivery-limit"),
            Some(&AMQPValue::LongLongInt(5))
        );
    }

    #[test]
    fn wait_queues_expire_into_the_work_queue() {
        let args = topology(QueueType::Quorum).wait_queue_arguments("hooks", 431);
        assert_eq!(
            args.inner().get("x-message-ttl"),
            Some(&AMQPValue::LongLongInt(431))
        );
        assert_eq!(
            text(&args, "x-dead-letter-routing-key").as_deref(),
            Some("p.hooks")
        );
        assert_eq!(
            text(&args, "x-dead-letter-strategy").as_deref(),
            Some("at-least-once")
        );
    }

    #[test]
    fn classic_queues_have_no_quorum_arguments() {
        let args = topology(QueueType::Classic).work_queue_arguments("hooks");
        assert_eq!(text(&args, "x-queue-type").as_deref(), Some("classic"));
        for key in ["x-delivery-limit", "x-dead-letter-strategy", "x-overflow"] {
            assert!(args.inner().get(key).is_none(), "{key}");
        }
        assert_eq!(
            text(&args, "x-dead-letter-routing-key").as_deref(),
            Some("p.hooks.dead")
        );
    }
}
