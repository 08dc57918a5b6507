//! An open subscription to the embedded hose.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::delivery::TagKind;
use crate::embedded::deferred::DuePoll;
use crate::embedded::reader::{self, ReadRecord};
use crate::embedded::subscriber::SubscriberState;
use crate::embedded::Shared;
use crate::error::join_error;
use crate::sync_util::lock;
use crate::{
    Deferral, Delivery, DeliveryTag, HoseError, Message, Rejected, RewriteReport, Rewriter,
    Subscription,
};

/// A stream record handed out and not yet covered by the cursor.
#[derive(Debug)]
struct Pending {
    end: u64,
    acked: bool,
}

/// The segment file last read from, kept open between records.
struct OpenSegment {
    start: u64,
    file: Arc<File>,
}

/// Reads the log from the subscriber's cursor and serves its due deferred messages.
pub(crate) struct EmbeddedSubscription {
    shared: Arc<Shared>,
    state: Arc<SubscriberState>,
    end_rx: watch::Receiver<u64>,
    closed_rx: watch::Receiver<bool>,
    read_position: u64,
    pending: BTreeMap<u64, Pending>,
    segment: Option<OpenSegment>,
    /// No deferred message comes due before this Unix time in ms (`u64::MAX`: none until the next defer or
    /// resubscribe), so `next` skips polling the delayed queue until then.
    deferred_not_due_before: u64,
    /// A poll of the delayed queue that may already have taken a due message. It lives here,
    /// not in `next`'s future, so that a `next` dropped mid-way (in a `select!`) leaves its
    /// result for the following call: `next` is cancel-safe.
    deferred_poll: Option<InFlightPoll>,
    /// Counts this subscription's defers, so that a poll begun before a defer is known to be
    /// stale: its "nothing due" must not hide the message deferred since.
    defers: u64,
    /// The subscriber's `requeued` count this subscription has looked at.
    requeued_seen: u64,
}

/// A poll of the delayed queue running on the blocking pool.
struct InFlightPoll {
    /// The value of `defers` when the poll began.
    defers_before: u64,
    task: JoinHandle<Result<DuePoll, HoseError>>,
}

enum DeferredPoll {
    Ready(Delivery),
    Idle(Option<u64>),
}

impl EmbeddedSubscription {
    /// Wraps a subscriber whose `open` flag the caller has just set.
    pub(crate) fn new(shared: Arc<Shared>, state: Arc<SubscriberState>) -> Self {
        let read_position = state.acked.load(Ordering::Acquire);
        Self {
            end_rx: shared.end_rx.clone(),
            closed_rx: shared.closed_tx.subscribe(),
            shared,
            state,
            read_position,
            pending: BTreeMap::new(),
            segment: None,
            deferred_not_due_before: 0,
            deferred_poll: None,
            defers: 0,
            requeued_seen: 0,
        }
    }

    /// Puts in the delayed queue so far: this subscription's defers and the retried dead letters.
    fn puts(&self) -> u64 {
        self.defers + self.state.requeued.load(Ordering::Acquire)
    }

    fn ensure_open(&self) -> Result<(), HoseError> {
        if *self.closed_rx.borrow() {
            return Err(HoseError::Closed);
        }
        Ok(())
    }

    async fn poll_deferred(&mut self) -> Result<DeferredPoll, HoseError> {
        if self.deferred_poll.is_none() {
            if self.state.deferred_messages() == 0 {
                return Ok(DeferredPoll::Idle(None));
            }
            if now_unix_ms() < self.deferred_not_due_before {
                let known = Some(self.deferred_not_due_before).filter(|due| *due != u64::MAX);
                return Ok(DeferredPoll::Idle(known));
            }
            let state = Arc::clone(&self.state);
            self.deferred_poll = Some(InFlightPoll {
                defers_before: self.puts(),
                task: tokio::task::spawn_blocking(move || {
                    lock(&state.deferred).poll_due(now_unix_ms())
                }),
            });
        }
        let Some(poll) = self.deferred_poll.as_mut() else {
            return Ok(DeferredPoll::Idle(None));
        };
        let joined = (&mut poll.task).await;
        let stale = poll.defers_before != self.puts();
        self.deferred_poll = None;
        let poll = joined.map_err(join_error)??;
        Ok(match poll {
            DuePoll::Due {
                id,
                attempt,
                message,
            } => DeferredPoll::Ready(Delivery {
                tag: DeliveryTag::deferred(id),
                messages: vec![message],
                attempt,
                position: None,
            }),
            // A defer came after this poll looked: poll again rather than trust its answer.
            DuePoll::Idle { .. } if stale => DeferredPoll::Idle(Some(now_unix_ms())),
            DuePoll::Idle { next_due_ms } => {
                self.deferred_not_due_before = next_due_ms.unwrap_or(u64::MAX);
                DeferredPoll::Idle(next_due_ms)
            }
        })
    }

    async fn read_stream_record(&mut self, end: u64) -> Result<Delivery, HoseError> {
        let position = self.read_position;
        let segment_start = self.shared.segments.containing(position).ok_or_else(|| {
            HoseError::corrupt(
                self.shared.layout.segments_dir(),
                position,
                "no segment holds this offset",
            )
        })?;
        let cached = self
            .segment
            .take()
            .filter(|s| s.start == segment_start)
            .map(|s| s.file);
        let path = self.shared.layout.segment(segment_start);
        let (file, record) =
            tokio::task::spawn_blocking(move || -> Result<(Arc<File>, ReadRecord), HoseError> {
                let file = match cached {
                    Some(file) => file,
                    None => Arc::new(File::open(&path)?),
                };
                let record = reader::read_record(&file, &path, segment_start, position, end)?;
                Ok((file, record))
            })
            .await
            .map_err(join_error)??;
        self.segment = Some(OpenSegment {
            start: segment_start,
            file,
        });
        self.pending.insert(
            position,
            Pending {
                end: record.next,
                acked: false,
            },
        );
        self.read_position = record.next;
        Ok(Delivery {
            tag: DeliveryTag::stream(position, record.next),
            messages: record.messages,
            attempt: 0,
            position: Some(position),
        })
    }

    fn ack_stream(&mut self, start: u64, end: u64) -> Result<(), HoseError> {
        let acked = self.state.acked.load(Ordering::Acquire);
        match self.pending.get_mut(&start) {
            Some(pending) if pending.end == end => pending.acked = true,
            _ if end <= acked => return Ok(()),
            _ => {
                return Err(HoseError::UnknownDelivery(format!(
                    "stream record {start}..{end}"
                )))
            }
        }
        let mut cursor = acked;
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() != cursor || !entry.get().acked {
                break;
            }
            cursor = entry.remove().end;
        }
        self.state.acked.store(cursor, Ordering::Release);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next(&mut self) -> Result<Delivery, HoseError> {
        loop {
            self.ensure_open()?;
            let requeued = self.state.requeued.load(Ordering::Acquire);
            if requeued != self.requeued_seen {
                // A retried dead letter is due now.
                self.requeued_seen = requeued;
                self.deferred_not_due_before = 0;
            }
            let next_due_ms = match self.poll_deferred().await? {
                DeferredPoll::Ready(delivery) => return Ok(delivery),
                DeferredPoll::Idle(next_due_ms) => next_due_ms,
            };
            let end = *self.end_rx.borrow_and_update();
            if self.read_position < end {
                return self.read_stream_record(end).await;
            }
            let wait =
                next_due_ms.map(|due| Duration::from_millis(due.saturating_sub(now_unix_ms())));
            tokio::select! {
                changed = self.end_rx.changed() => {
                    if changed.is_err() {
                        return Err(HoseError::Closed);
                    }
                }
                changed = self.closed_rx.changed() => {
                    if changed.is_err() {
                        return Err(HoseError::Closed);
                    }
                }
                () = self.state.requeue.notified() => {}
                () = sleep_for(wait) => {}
            }
        }
    }

    async fn ack(&mut self, delivery: &DeliveryTag) -> Result<(), HoseError> {
        self.ensure_open()?;
        match delivery.kind() {
            TagKind::Stream { start, end } => self.ack_stream(start, end),
            TagKind::Deferred { id } => {
                let state = Arc::clone(&self.state);
                tokio::task::spawn_blocking(move || lock(&state.deferred).done(id))
                    .await
                    .map_err(join_error)?
            }
            TagKind::External(id) => Err(HoseError::UnknownDelivery(format!("external tag {id}"))),
        }
    }

    async fn defer(
        &mut self,
        message: Message,
        delay: Duration,
        attempt: u32,
    ) -> Result<(), HoseError> {
        self.defer_many(vec![Deferral {
            message,
            delay,
            attempt,
        }])
        .await
    }

    async fn defer_many(&mut self, deferrals: Vec<Deferral>) -> Result<(), HoseError> {
        self.ensure_open()?;
        if deferrals.is_empty() {
            return Ok(());
        }
        let count = deferrals.len();
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || {
            let messages: Vec<(&[u8], u64, u32)> = deferrals
                .iter()
                .map(|d| (&d.message[..], due_unix_ms(d.delay), d.attempt))
                .collect();
            let mut store = lock(&state.deferred);
            let ids = store.put_many(&messages)?;
            // The wall clock may run fast (a slewing clock): hold each back on the monotonic
            // clock too, so none comes before its delay has passed.
            let now = std::time::Instant::now();
            for (id, deferral) in ids.into_iter().zip(&deferrals) {
                store.not_before(id, now + deferral.delay);
            }
            Ok::<_, HoseError>(())
        })
        .await
        .map_err(join_error)??;
        self.state.deferred_writes.increment(count as u64);
        self.defers += count as u64;
        self.deferred_not_due_before = 0;
        Ok(())
    }

    async fn dead_letter(&mut self, rejected: Rejected) -> Result<(), HoseError> {
        self.ensure_open()?;
        let shared = Arc::clone(&self.shared);
        let name = self.state.name.clone();
        let id = tokio::task::spawn_blocking(move || {
            shared.dead_letters.put(&name, &rejected, now_unix_ms())
        })
        .await
        .map_err(join_error)??;
        tracing::debug!(subscriber = %self.state.name, dead_letter = %id, "dead letter written");
        Ok(())
    }

    async fn rewrite_deferred(
        &mut self,
        rewrite: Rewriter,
    ) -> Result<Option<RewriteReport>, HoseError> {
        self.ensure_open()?;
        let state = Arc::clone(&self.state);
        let report =
            tokio::task::spawn_blocking(move || lock(&state.deferred).rewrite(rewrite.as_ref()))
                .await
                .map_err(join_error)??;
        self.deferred_not_due_before = 0;
        Ok(Some(report))
    }
}

impl Drop for EmbeddedSubscription {
    fn drop(&mut self) {
        self.state.open.store(false, Ordering::Release);
    }
}

async fn sleep_for(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Whole milliseconds in `duration` (rounded down), saturating at `u64::MAX`.
fn whole_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Current wall-clock time in whole milliseconds (rounded down).
pub(crate) fn now_unix_ms() -> u64 {
    whole_ms(since_epoch())
}

/// Due time of a message deferred by `delay`, rounded up so it never comes due early.
fn due_unix_ms(delay: Duration) -> u64 {
    let due = since_epoch().saturating_add(delay);
    let whole = whole_ms(due);
    if due.subsec_nanos().is_multiple_of(1_000_000) {
        whole
    } else {
        whole.saturating_add(1)
    }
}
