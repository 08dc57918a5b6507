//! The event hose on RabbitMQ: [`AmqpHose`] implements [`eventhose_hose::Hose`] with a fan-out
//! exchange, a durable queue per subscriber, and delayed retry queues, without broker plugins.
//!
//! # Topology
//!
//! Every name starts with the configured `prefix` (default `eventhose.`), so installations can
//! share a broker. `{name}` is a subscriber name (`[a-z0-9_-]{1,64}`, so it never contains a dot).
//!
//! ```text
//!  publish ──▶ {prefix}events (durable fanout exchange)
//!                 │ one binding per registered subscriber
//!                 ▼
//!              {prefix}{name}            work queue (durable; quorum by default)
//!                 │  consumed with manual acks, prefetch-bounded; competing consumers share it
//!                 │  after max_redeliveries redeliveries (quorum x-delivery-limit):
//!                 ▼
//!              {prefix}{name}.dead       dead-letter queue (via the default exchange); also
//!                                        what the subscriber sets aside (`dead_letters.rs`)
//!
//!  defer ──▶ {prefix}{name}.wait.{ms}    one wait queue per delay tier, x-message-ttl = ms,
//!                 │                      dead-lettered on expiry through the default exchange
//!                 └──────────────────▶   back into {prefix}{name}
//! ```
//!
//! * The exchange is declared on connecting; `register` declares the subscriber's dead-letter
//!   queue, work queue and binding. Everything is re-declared (idempotently) after every
//!   reconnect, before publishing resumes, so a registered subscriber never misses a batch that
//!   was confirmed.
//! * Quorum queues (`queue_type = "quorum"`, RabbitMQ 3.10 or later) dead-letter with the
//!   `at-least-once` strategy, which RabbitMQ allows only with `x-overflow = reject-publish`; no
//!   length limit is set, so nothing is refused for length. A quorum queue counts a delivery each
//!   time a message goes back to it (a `nack`, or the consumer's channel closing before the ack)
//!   and moves it to `.dead` after `max_redeliveries` of them. Every queue is durable and every
//!   message persistent, so queues, wait queues included, keep their messages across a broker
//!   restart; quorum queues write them to disk before confirming.
//! * Classic queues (`queue_type = "classic"`) have no delivery limit in RabbitMQ 3.x: a message
//!   that keeps failing is redelivered for ever and `.dead` only receives what a consumer rejects.
//!   Their dead-lettering (wait queue → work queue included) is at-most-once: a wait-queue message
//!   can be lost if the work queue is unavailable at the moment it expires. Prefer quorum.
//! * Wait queues are declared on first use per connection. Delays are rounded up to one of at
//!   most 129 tiers (four per doubling, see [`tiers`]), which bounds the number of wait queues;
//!   a deferred message never comes back before its delay and at most about 19 % after it (plus
//!   the time the work queue takes to reach it). A whole wait queue has one TTL, so its messages
//!   expire in the order they entered (RabbitMQ expires only at the head of a queue).
//! * `unregister` deletes the work queue (only if no consumer, in any process, reads it), every
//!   wait queue and the dead-letter queue.
//!
//! # Messages
//!
//! One `publish` is one AMQP message: the batch's messages framed in the body (see [`wire`]),
//! persistent (delivery mode 2), published `mandatory` on a channel in confirm mode. `publish`
//! returns only after the broker's ack; a nack, a `basic.return` (no queue bound), a confirm
//! timeout or a lost connection fail it with [`HoseError::Unavailable`] and nothing is reported as
//! accepted. Each in-flight publish has a pooled channel of its own (`publish_channels` of them),
//! so publishes do not wait behind each other's confirms. A deferred message carries its attempt
//! in the `x-eventhose-attempt` header.
//!
//! # Ordering
//!
//! RabbitMQ keeps each queue FIFO, so a subscriber with one consumer receives batches in publish
//! order, the messages of a batch together and in order. Redeliveries (after a consumer's channel
//! closed without acking) and deferred messages re-enter the queue and can come after later
//! batches. Deferred messages with the same delay tier come back in the order they were deferred
//! (barring redelivery after a fault); across tiers, in due order only when their due times are
//! further apart than the broker's timing jitter. Unlike the embedded hose, a due deferred message does not overtake batches already
//! queued: it waits its turn at the tail of the work queue. With competing consumers there is no
//! order across them. Deliveries have no position ([`Delivery::position`] is `None`), so
//! consumers deduplicate by content (event ids, batch ids).
//!
//! # Faults
//!
//! * While the broker is unreachable, or has blocked publishing, `publish` and `defer` fail at
//!   once with [`HoseError::Unavailable`] (an HTTP 503 upstream). A background task reconnects
//!   with exponential backoff between `reconnect_min_ms` and `reconnect_max_ms`; a lost
//!   connection, a failed heartbeat or a channel found dead all lead there. Nothing exits the
//!   process.
//! * Subscriptions resume by themselves on the new connection; `next` keeps waiting meanwhile.
//!   Deliveries taken on the dead connection are redelivered by the broker (at least once);
//!   acknowledging one of them afterwards is harmless.
//! * `register` without a connection remembers the name; its queues are declared on connecting.
//! * Dropping the hose without `close` closes the connection: the broker requeues every
//!   unacknowledged delivery, as after a crash.
//!
//! [`Delivery::position`]: eventhose_hose::Delivery::position
//! [`HoseError::Unavailable`]: eventhose_hose::HoseError::Unavailable

#![warn(missing_docs)]

mod broker_error;
mod config;
mod dead_letters;
mod hose;
mod registry;
mod session;
mod stats;
mod subscription;
mod supervisor;
mod sync_util;
pub mod tiers;
mod topology;
pub mod wire;

pub use config::{AmqpHoseConfig, AmqpOptions, QueueType, MAX_PREFETCH, MAX_PREFIX_LEN};
pub use hose::AmqpHose;
pub use stats::QueueStats;
