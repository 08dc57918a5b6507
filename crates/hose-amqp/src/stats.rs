//! Queue depths and consumer counts, read from the broker by passive declares and exported as
//! gauges (`eventhose_hose_queue_messages`, `eventhose_hose_queue_consumers`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use lapin::Channel;

use crate::broker_error::{reply_code, NOT_FOUND};
use crate::session::Session;
use crate::sync_util::lock;
use crate::topology::Topology;

/// What the broker last reported about one subscriber's queues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Subscriber name.
    pub subscriber: String,
    /// Its work queue.
    pub queue: String,
    /// Messages ready in the work queue (not counting deliveries awaiting an ack).
    pub messages: u64,
    /// Consumers on the work queue, in every process.
    pub consumers: u64,
    /// Messages in its dead-letter queue.
    pub dead_messages: u64,
    /// Whether the broker has answered for this queue yet (all counts are 0 until it has).
    pub observed: bool,
}

/// The latest [`QueueStats`] per registered subscriber.
#[derive(Debug, Default)]
pub(crate) struct StatsBoard {
    entries: Mutex<BTreeMap<String, QueueStats>>,
}

impl StatsBoard {
    /// Adds an entry (all zero) for a new subscriber.
    pub(crate) fn track(&self, topology: &Topology, subscriber: &str) {
        lock(&self.entries)
            .entry(subscriber.to_owned())
            .or_insert_with(|| QueueStats {
                subscriber: subscriber.to_owned(),
                queue: topology.work_queue(subscriber),
                ..Default::default()
            });
    }

    /// Drops a subscriber's entry and zeroes its gauges.
    pub(crate) fn forget(&self, topology: &Topology, subscriber: &str) {
        lock(&self.entries).remove(subscriber);
        let zero = QueueStats {
            queue: topology.work_queue(subscriber),
            ..Default::default()
        };
        export(topology, subscriber, &zero);
    }

    /// Subscribers with an entry, sorted.
    pub(crate) fn tracked(&self) -> Vec<String> {
        lock(&self.entries).keys().cloned().collect()
    }

    /// The consumers of `subscriber`'s work queue, once a poll has seen it.
    pub(crate) fn consumers(&self, subscriber: &str) -> Option<u64> {
        lock(&self.entries)
            .get(subscriber)
            .filter(|stats| stats.observed)
            .map(|stats| stats.consumers)
    }

    pub(crate) fn snapshot(&self) -> Vec<QueueStats> {
        lock(&self.entries).values().cloned().collect()
    }

    /// Keeps and exports the answer for a tracked subscriber (others are ignored).
    pub(crate) fn record(&self, topology: &Topology, stats: QueueStats) {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get_mut(&stats.subscriber) {
            export(topology, &stats.subscriber, &stats);
            *entry = stats;
        }
    }

    /// Asks the broker about every subscriber in `subscribers` and records the answers.
    pub(crate) async fn refresh(
        &self,
        session: &Session,
        topology: &Topology,
        subscribers: &[String],
    ) -> lapin::Result<()> {
        let mut channel = None;
        for subscriber in subscribers {
            let stats = inspect_subscriber(session, &mut channel, topology, subscriber).await?;
            if let Some(stats) = stats {
                self.record(topology, stats);
            }
        }
        if let Some(channel) = channel {
            let _ = channel.close(200, "statistics read".into()).await;
        }
        Ok(())
    }
}

/// Reads one subscriber's queues; `None` when its work queue does not exist (yet).
pub(crate) async fn inspect_subscriber(
    session: &Session,
    channel: &mut Option<Channel>,
    topology: &Topology,
    subscriber: &str,
) -> lapin::Result<Option<QueueStats>> {
    let work_queue = topology.work_queue(subscriber);
    let Some(work) = inspect(session, channel, topology, &work_queue).await? else {
        return Ok(None);
    };
    let dead = inspect(session, channel, topology, &topology.dead_queue(subscriber)).await?;
    Ok(Some(QueueStats {
        subscriber: subscriber.to_owned(),
        queue: work_queue,
        messages: u64::from(work.message_count()),
        consumers: u64::from(work.consumer_count()),
        dead_messages: dead.map_or(0, |queue| u64::from(queue.message_count())),
        observed: true,
    }))
}

/// A passive declare on a reusable channel; a missing queue (which closes the channel) is `None`.
async fn inspect(
    session: &Session,
    channel: &mut Option<Channel>,
    topology: &Topology,
    queue: &str,
) -> lapin::Result<Option<lapin::Queue>> {
    let open = match channel.take() {
        Some(open) if open.status().connected() => open,
        _ => session.open_channel().await?,
    };
    match topology.inspect(&open, queue).await {
        Ok(found) => {
            *channel = Some(open);
            Ok(Some(found))
        }
        Err(error) if reply_code(&error) == Some(NOT_FOUND) => Ok(None),
        Err(error) => {
            session.note_failure(&error);
            Err(error)
        }
    }
}

fn export(topology: &Topology, subscriber: &str, stats: &QueueStats) {
    let queue = stats.queue.clone();
    metrics::gauge!("eventhose_hose_queue_messages", "queue" => queue.clone())
        .set(stats.messages as f64);
    metrics::gauge!("eventhose_hose_queue_consumers", "queue" => queue).set(stats.consumers as f64);
    metrics::gauge!("eventhose_hose_queue_messages", "queue" => topology.dead_queue(subscriber))
        .set(stats.dead_messages as f64);
}
