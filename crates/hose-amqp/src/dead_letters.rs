//! Dead letters on RabbitMQ: the subscriber's `{prefix}{name}.dead` queue. It receives what a
//! subscriber sets aside (one message, framed like a batch, with the reason and the time in
//! headers) and, from quorum work queues, whole batches the broker moved aside after
//! `max_redeliveries` redeliveries (their reason is the broker's `x-first-death-reason`).
//!
//! AMQP cannot read a queue without taking its messages, so listing and settling take them
//! with `basic.get` on a channel of their own and close it, which hands back every message they
//! did not settle, in place. Two operators browsing the same queue at once each see only what
//! the other does not hold. A quorum queue counts each such return as a delivery: RabbitMQ 3.x
//! sets no delivery limit on `.dead` queues, but from 4.0 a quorum queue has one by default
//! (20) and drops a message returned more often, so on 4.x give the `.dead` queues a
//! `delivery-limit` of `-1` by policy.

use std::sync::Arc;
use std::time::Duration;

use eventhose_hose::{
    dead_letter_id, validate_subscriber_name, DeadLetter, DeadLetterPage, HoseError, Rejected,
    Settle,
};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{AMQPValue, ShortString};
use lapin::{BasicProperties, Channel};

use crate::broker_error::{reply_code, unavailable, NOT_FOUND};
use crate::hose::Inner;
use crate::session::{Outgoing, Session};
use crate::topology::DEFAULT_EXCHANGE;
use crate::wire;

/// Header carrying why a subscriber set a message aside.
pub const REASON_HEADER: &str = "x-eventhose-reason";
/// Header carrying when, in Unix milliseconds.
pub const DEAD_AT_HEADER: &str = "x-eventhose-dead-at";

/// What a subscriber's [`dead_letter`](eventhose_hose::Subscription::dead_letter) publishes.
pub(crate) fn outgoing(queue: String, rejected: &Rejected) -> Result<Outgoing, HoseError> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let mut properties = wire::properties(Some(rejected.attempt));
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(
        ShortString::from(REASON_HEADER),
        AMQPValue::LongString(rejected.reason.as_str().into()),
    );
    headers.insert(
        ShortString::from(DEAD_AT_HEADER),
        AMQPValue::LongLongInt(i64::try_from(now_ms).unwrap_or(i64::MAX)),
    );
    properties = properties.with_headers(headers);
    Ok(Outgoing {
        exchange: DEFAULT_EXCHANGE.to_owned(),
        routing_key: queue,
        body: wire::encode_batch(std::slice::from_ref(&rejected.message))?,
        properties,
    })
}

/// The oldest `limit` dead letters of `subscriber` and how many it has.
pub(crate) async fn list(
    inner: &Inner,
    subscriber: &str,
    limit: usize,
) -> Result<DeadLetterPage, HoseError> {
    let mut browse = Browse::open(inner, subscriber).await?;
    let mut letters = Vec::new();
    while letters.len() < limit {
        let Some(got) = browse.get().await? else {
            break;
        };
        letters.push(read(&got.data, &got.properties));
    }
    let total = browse.total;
    browse.close().await;
    Ok(DeadLetterPage { letters, total })
}

/// How many times a lookup by id scans the queue before it concludes there is no such dead
/// letter, and the pause between scans: what another browse has just handed back reaches the
/// queue again a moment later (a quorum queue returns messages through its log).
const SCANS: u32 = 3;
const RESCAN_PAUSE: Duration = Duration::from_millis(200);

/// The dead letter `id` of `subscriber`, if it has one.
pub(crate) async fn find(
    inner: &Inner,
    subscriber: &str,
    id: &str,
) -> Result<Option<DeadLetter>, HoseError> {
    for _ in 1..SCANS {
        if let Some(found) = find_once(inner, subscriber, id).await? {
            return Ok(Some(found));
        }
        tokio::time::sleep(RESCAN_PAUSE).await;
    }
    find_once(inner, subscriber, id).await
}

/// Retries or drops every copy of dead letter `id` of `subscriber`; whether there was one.
pub(crate) async fn settle(
    inner: &Inner,
    subscriber: &str,
    id: &str,
    how: Settle,
) -> Result<bool, HoseError> {
    for _ in 1..SCANS {
        if settle_once(inner, subscriber, id, how).await? {
            return Ok(true);
        }
        tokio::time::sleep(RESCAN_PAUSE).await;
    }
    settle_once(inner, subscriber, id, how).await
}

/// One scan of [`find`].
async fn find_once(
    inner: &Inner,
    subscriber: &str,
    id: &str,
) -> Result<Option<DeadLetter>, HoseError> {
    let mut browse = Browse::open(inner, subscriber).await?;
    let mut found = None;
    while let Some(got) = browse.get().await? {
        let letter = read(&got.data, &got.properties);
        if letter.id == id {
            found = Some(letter);
            break;
        }
    }
    browse.close().await;
    Ok(found)
}

/// One scan of [`settle`].
async fn settle_once(
    inner: &Inner,
    subscriber: &str,
    id: &str,
    how: Settle,
) -> Result<bool, HoseError> {
    let mut browse = Browse::open(inner, subscriber).await?;
    let mut settled = false;
    while let Some(got) = browse.get().await? {
        let letter = read(&got.data, &got.properties);
        if letter.id != id {
            continue;
        }
        if how == Settle::Retry {
            // Back into the work queue, confirmed, before the dead letter is acknowledged: a
            // failure between the two leaves it in both queues, never in neither.
            let retry = Outgoing {
                exchange: DEFAULT_EXCHANGE.to_owned(),
                routing_key: inner.topology.work_queue(subscriber),
                body: got.data.clone(),
                properties: wire::properties((letter.attempt > 0).then_some(letter.attempt)),
            };
            if let Err(failure) = browse.session.publish(retry).await {
                browse.close().await;
                return Err(inner.publish_error("the retried dead letter", failure));
            }
        }
        got.acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(|e| unavailable("settling a dead letter", e))?;
        settled = true;
    }
    browse.close().await;
    Ok(settled)
}

/// A dead letter as read from the queue.
fn read(body: &[u8], properties: &BasicProperties) -> DeadLetter {
    let header = |name: &str| {
        properties
            .headers()
            .as_ref()
            .and_then(|headers| headers.inner().get(name).cloned())
    };
    let (messages, unframed) = match wire::decode_batch(body.to_vec()) {
        Ok(messages) => (messages, false),
        Err(_) => (vec![bytes::Bytes::copy_from_slice(body)], true),
    };
    let mut reason = match (header(REASON_HEADER), header("x-first-death-reason")) {
        (Some(AMQPValue::LongString(reason)), _) => reason.to_string(),
        (_, Some(AMQPValue::LongString(broker))) => {
            format!("moved aside by the broker ({broker}): redelivered too many times")
        }
        _ => "moved aside by the broker".to_owned(),
    };
    if unframed {
        reason.push_str("; its body is not a hose batch");
    }
    let dead_at_ms = match header(DEAD_AT_HEADER) {
        Some(AMQPValue::LongLongInt(ms)) => u64::try_from(ms).ok(),
        _ => None,
    };
    DeadLetter {
        id: dead_letter_id(messages.iter().map(|message| &message[..])),
        reason,
        dead_at_ms,
        attempt: wire::attempt_of(properties),
        messages,
    }
}

/// A channel taking messages from one `.dead` queue; closing it hands back what it holds.
struct Browse {
    session: Arc<Session>,
    channel: Channel,
    queue: String,
    /// Messages in the queue when it was opened: a browse takes at most as many, so that it
    /// ends even while messages keep arriving.
    total: u64,
    taken: u64,
}

impl Browse {
    async fn open(inner: &Inner, subscriber: &str) -> Result<Browse, HoseError> {
        validate_subscriber_name(subscriber)?;
        if inner.is_closed() {
            return Err(HoseError::Closed);
        }
        let session = inner.live_session().ok_or_else(|| inner.not_connected())?;
        let channel = session
            .open_channel()
            .await
            .map_err(|e| unavailable("opening a channel for dead letters", e))?;
        let queue = inner.topology.dead_queue(subscriber);
        let declared = inner
            .topology
            .inspect(&channel, &queue)
            .await
            .map_err(|e| {
                if reply_code(&e) == Some(NOT_FOUND) {
                    HoseError::UnknownSubscriber(subscriber.to_owned())
                } else {
                    unavailable("reading the dead-letter queue", e)
                }
            })?;
        Ok(Browse {
            session,
            channel,
            queue,
            total: u64::from(declared.message_count()),
            taken: 0,
        })
    }

    /// The next message, unacknowledged; `None` at the end of what the queue held at opening.
    async fn get(&mut self) -> Result<Option<lapin::message::Delivery>, HoseError> {
        if self.taken >= self.total {
            return Ok(None);
        }
        let got = self
            .channel
            .basic_get(
                self.queue.as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await
            .map_err(|e| unavailable("reading the dead-letter queue", e))?;
        self.taken += 1;
        Ok(got.map(|got| got.delivery))
    }

    /// Hands back every message taken and not acknowledged.
    async fn close(self) {
        let _ = self.channel.close(200, "dead letters read".into()).await;
    }
}
