//! The embedded hose: an append-only, checksummed, segmented log in one local directory.
//!
//! # Files
//!
//! ```text
//! <dir>/LOCK                                 exclusive flock held while open (one process per directory)
//! <dir>/segments/<start offset:020>.log      log segments, named by the global offset of their first byte
//! <dir>/subscribers/<name>.cursor            durable cursor of a registered subscriber (its presence = registered)
//! <dir>/subscribers/<name>.deferred          the subscriber's delayed queue (format in `deferred.rs`)
//! <dir>/dead/<name>/<id>.dead                a dead letter of the subscriber (`dead_letters.rs`)
//! ```
//!
//! # Record format
//!
//! Offsets are byte positions in the global log, monotonic across segments. Each publish call appends one
//! record (all integers little-endian):
//!
//! ```text
//! 0   u8   magic/version 0xE1
//! 1   u8   codec: 0 = raw, 1 = zstd
//! 2   u16  reserved, 0
//! 4   u32  stored payload length
//! 8   u32  raw (uncompressed) payload length
//! 12  u32  message count
//! 16  u32  CRC32 of bytes 0..16 followed by the stored payload
//! 20  ...  payload: the concatenation of (u32 length, message bytes) per message, compressed per the codec
//! ```
//!
//! Cursor file: `b"EHC1"`, u64 position, CRC32 of the preceding 12 bytes.
//!
//! # Invariants
//!
//! * Only the writer thread appends, and only to the last (active) segment. A record never spans segments;
//!   a segment rolls before an append once it holds at least `segment_bytes`. The sealed segment is synced
//!   before its successor is created, and the directory is synced after the creation.
//! * The committed end (a `watch` channel) advances only after the bytes below it are on stable storage;
//!   readers never read at or past it, so they never see uncommitted bytes.
//! * Sealed segments are immutable and exactly as long as the gap to the next segment's start. Only the
//!   active segment can have a torn tail, which recovery cuts at the first invalid record when no valid
//!   record follows it; an invalid record followed by a valid one is corruption and fails the open.
//! * A subscriber's cursor is always a record boundary at or below the committed end. The persisted cursor
//!   is never ahead of the in-memory one, which covers only acknowledged records, so a restart resumes at
//!   or before the last acknowledgement (at-least-once).
//! * A segment is deleted only when its whole range lies below every registered subscriber's persisted
//!   cursor; the active segment is never deleted.

mod codec;
mod config;
mod cursor;
mod dead_letters;
mod deferred;
mod disk_space;
mod flusher;
mod frame;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod layout;
mod reader;
mod recovery;
mod segments;
mod subscriber;
mod subscription;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

pub use config::EmbeddedConfig;
pub use frame::FrameError;
pub use writer::WriterError;

use crate::error::join_error;
use crate::sync_util::lock;
use crate::{
    validate_subscriber_name, Admission, DeadLetter, DeadLetterPage, Hose, HoseError, HoseStats,
    Message, PublishGate, PublishReceipt, Settle, Subscription,
};
use cursor::{read_cursor, write_cursor};
use dead_letters::DeadLetterFiles;
use deferred::DeferredStore;
use disk_space::DiskSpaceGuard;
use layout::{acquire_lock, remove_if_exists, sync_dir, Layout};
use segments::SegmentIndex;
use subscriber::SubscriberState;
use subscription::EmbeddedSubscription;
use writer::{spawn_writer, AppendRequest, WriterCounters, WriterRequest, WriterStart};

/// Totals of what the log writer has done since the hose was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterTotals {
    /// Records appended (one per non-empty publish).
    pub records: u64,
    /// Messages appended.
    pub messages: u64,
    /// Bytes written to segment files (headers plus stored, compressed payloads).
    pub bytes_written: u64,
    /// `sync_data` calls on segment files.
    pub fsyncs: u64,
}

/// A [`Hose`] backed by a local directory. Open it with [`EmbeddedHose::open`].
pub struct EmbeddedHose {
    shared: Arc<Shared>,
}

/// State shared by the hose handle, its subscriptions and the flusher task.
pub(crate) struct Shared {
    layout: Layout,
    config: EmbeddedConfig,
    segments: Arc<SegmentIndex>,
    end_rx: watch::Receiver<u64>,
    writer_tx: Mutex<Option<mpsc::Sender<WriterRequest>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<WriterCounters>,
    /// Held by each publish; closed by close.
    publish_gate: PublishGate,
    closed_tx: watch::Sender<bool>,
    subscribers: Mutex<BTreeMap<String, Arc<SubscriberState>>>,
    /// Serialises registration changes, flushes and shutdown; `true` once shut down.
    maintenance: tokio::sync::Mutex<bool>,
    disk: DiskSpaceGuard,
    lock_file: Mutex<Option<File>>,
    /// Every subscriber's dead letters.
    pub(crate) dead_letters: DeadLetterFiles,
    /// Why the last append failed, until one succeeds (for [`Hose::health`]).
    write_failure: Mutex<Option<WriteFailure>>,
}

/// A failed append, as [`Hose::health`] reports it.
#[derive(Clone, Debug)]
struct WriteFailure {
    reason: String,
    /// Refused for want of space: over once the disk has room again.
    for_space: bool,
}

/// Everything `open` prepares on a blocking thread.
struct Opened {
    layout: Layout,
    lock_file: File,
    starts: Vec<u64>,
    end: u64,
    subscribers: Vec<SubscriberState>,
}

impl EmbeddedHose {
    /// Opens (creating if needed) the hose in `dir`: takes the directory lock, repairs a torn tail, loads the
    /// subscribers and starts the writer thread and the flusher task. Must be called inside a Tokio runtime.
    pub async fn open(
        dir: impl AsRef<Path>,
        config: EmbeddedConfig,
    ) -> Result<Arc<EmbeddedHose>, HoseError> {
        config.validate()?;
        let layout = Layout::new(dir.as_ref());
        let blocking_config = config.clone();
        let opened = tokio::task::spawn_blocking(move || open_directory(layout, &blocking_config))
            .await
            .map_err(join_error)??;

        let active_start = opened.starts.last().copied().unwrap_or(0);
        let segments = Arc::new(SegmentIndex::new(opened.starts));
        let counters = Arc::new(WriterCounters::default());
        let (end_tx, end_rx) = watch::channel(opened.end);
        let (writer_tx, writer_thread) = spawn_writer(WriterStart {
            layout: opened.layout.clone(),
            segment_bytes: config.segment_bytes,
            active_start,
            end: opened.end,
            index: Arc::clone(&segments),
            end_tx,
            counters: Arc::clone(&counters),
        })?;
        let subscribers = opened
            .subscribers
            .into_iter()
            .map(|state| (state.name.clone(), Arc::new(state)))
            .collect();
        let disk = DiskSpaceGuard::new(
            opened.layout.root().to_path_buf(),
            config.min_free_disk_bytes,
            config.disk_check_interval,
        );
        let flush_interval = config.cursor_flush_interval;
        let dead_letters = DeadLetterFiles::new(opened.layout.dead_letters_dir());
        let shared = Arc::new(Shared {
            layout: opened.layout,
            config,
            segments,
            end_rx,
            writer_tx: Mutex::new(Some(writer_tx)),
            writer_thread: Mutex::new(Some(writer_thread)),
            counters,
            publish_gate: PublishGate::new(),
            closed_tx: watch::channel(false).0,
            subscribers: Mutex::new(subscribers),
            maintenance: tokio::sync::Mutex::new(false),
            disk,
            lock_file: Mutex::new(Some(opened.lock_file)),
            dead_letters,
            write_failure: Mutex::new(None),
        });
        flusher::spawn_flusher(Arc::downgrade(&shared), flush_interval);
        tracing::info!(dir = %shared.layout.root().display(), end = shared.committed_end(), "opened embedded hose");
        Ok(Arc::new(EmbeddedHose { shared }))
    }

    /// The directory the hose lives in.
    pub fn dir(&self) -> &Path {
        self.shared.layout.root()
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &EmbeddedConfig {
        &self.shared.config
    }

    /// What the log writer has done since open (for benchmarks).
    pub fn writer_totals(&self) -> WriterTotals {
        let counters = &self.shared.counters;
        WriterTotals {
            records: counters.records.load(Ordering::Relaxed),
            messages: counters.messages.load(Ordering::Relaxed),
            bytes_written: counters.bytes.load(Ordering::Relaxed),
            fsyncs: counters.fsyncs.load(Ordering::Relaxed),
        }
    }

    /// Persists cursors and runs retention now instead of waiting for the flush interval.
    pub async fn flush(&self) -> Result<(), HoseError> {
        let shut_down = self.shared.maintenance.lock().await;
        if *shut_down {
            return Err(HoseError::Closed);
        }
        flusher::flush(&self.shared).await
    }

    /// Registers `name` if needed and returns its state; with `open`, also claims its subscription.
    async fn register_state(
        &self,
        name: &str,
        open: bool,
    ) -> Result<Arc<SubscriberState>, HoseError> {
        validate_subscriber_name(name)?;
        let shared = &self.shared;
        let shut_down = shared.maintenance.lock().await;
        if *shut_down || shared.is_closed() {
            return Err(HoseError::Closed);
        }
        let existing = lock(&shared.subscribers).get(name).cloned();
        let state = match existing {
            Some(state) => state,
            None => {
                let layout = shared.layout.clone();
                let owned_name = name.to_owned();
                let start = shared.committed_end();
                let max_message = shared.config.max_record_bytes;
                let state =
                    tokio::task::spawn_blocking(move || -> Result<SubscriberState, HoseError> {
                        let deferred =
                            DeferredStore::open(&layout.deferred(&owned_name), max_message)?;
                        write_cursor(&layout.cursor(&owned_name), start, true)?;
                        Ok(SubscriberState::new(owned_name, start, deferred))
                    })
                    .await
                    .map_err(join_error)??;
                let state = Arc::new(state);
                lock(&shared.subscribers).insert(name.to_owned(), Arc::clone(&state));
                tracing::info!(
                    subscriber = name,
                    position = start,
                    "registered hose subscriber"
                );
                state
            }
        };
        if open && state.open.swap(true, Ordering::AcqRel) {
            return Err(HoseError::AlreadySubscribed(name.to_owned()));
        }
        drop(shut_down);
        Ok(state)
    }
}

impl Shared {
    fn committed_end(&self) -> u64 {
        *self.end_rx.borrow()
    }

    fn is_closed(&self) -> bool {
        *self.closed_tx.borrow()
    }

    /// The state of registered subscriber `name`.
    fn subscriber_state(&self, name: &str) -> Result<Arc<SubscriberState>, HoseError> {
        lock(&self.subscribers)
            .get(name)
            .cloned()
            .ok_or_else(|| HoseError::UnknownSubscriber(name.to_owned()))
    }

    fn subscriber_states(&self) -> Vec<Arc<SubscriberState>> {
        lock(&self.subscribers).values().cloned().collect()
    }

    /// `DiskFull` or `Backlogged` when publishing must pause.
    fn check_backpressure(&self) -> Result<(), HoseError> {
        self.disk.check()?;
        let end = self.committed_end();
        let max_lag = self.config.max_subscriber_lag_bytes;
        for state in lock(&self.subscribers).values() {
            let lag = state.lag(end);
            if lag > max_lag {
                return Err(HoseError::Backlogged {
                    subscriber: state.name.clone(),
                    lag_bytes: lag,
                });
            }
        }
        Ok(())
    }

    fn send_to_writer(&self, request: WriterRequest) -> Result<(), HoseError> {
        let sender = lock(&self.writer_tx);
        let Some(sender) = sender.as_ref() else {
            return Err(HoseError::Closed);
        };
        sender
            .send(request)
            .map_err(|_| HoseError::writer_failed("the writer thread has stopped"))
    }
}

#[async_trait::async_trait]
impl Hose for EmbeddedHose {
    async fn publish(&self, batch: Vec<Message>) -> Result<PublishReceipt, HoseError> {
        let shared = &self.shared;
        let messages = batch.len();
        let raw_bytes = frame::raw_size(&batch);
        let max_bytes = shared.config.max_record_bytes;
        let pass = match shared
            .publish_gate
            .admit(messages, raw_bytes, max_bytes)
            .await?
        {
            Admission::Publish(pass) => pass,
            Admission::Empty(receipt) => return Ok(receipt),
        };
        shared.check_backpressure()?;
        let level = shared.config.compress.then_some(shared.config.zstd_level);
        let record = tokio::task::spawn_blocking(move || frame::encode_record(&batch, level))
            .await
            .map_err(join_error)??;
        let (done_tx, done_rx) = oneshot::channel();
        shared.send_to_writer(WriterRequest::Append(AppendRequest {
            record,
            messages: messages as u64,
            done: done_tx,
        }))?;
        let appended = done_rx
            .await
            .map_err(|_| HoseError::writer_failed("the writer thread has stopped"))?;
        *lock(&shared.write_failure) = appended.as_ref().err().map(|error| WriteFailure {
            reason: format!("the last write failed: {error}"),
            for_space: matches!(error, HoseError::Io(e) if is_out_of_space(e)),
        });
        let position = appended?;
        drop(pass);
        Ok(PublishReceipt {
            position: Some(position),
            messages,
        })
    }

    async fn subscribe(&self, subscriber: &str) -> Result<Box<dyn Subscription>, HoseError> {
        let state = self.register_state(subscriber, true).await?;
        let reset_state = Arc::clone(&state);
        let reset =
            tokio::task::spawn_blocking(move || lock(&reset_state.deferred).reset_in_flight())
                .await;
        if let Err(err) = reset {
            state.open.store(false, Ordering::Release);
            return Err(join_error(err));
        }
        Ok(Box::new(EmbeddedSubscription::new(
            Arc::clone(&self.shared),
            state,
        )))
    }

    async fn register(&self, subscriber: &str) -> Result<(), HoseError> {
        self.register_state(subscriber, false).await.map(drop)
    }

    async fn unregister(&self, subscriber: &str) -> Result<(), HoseError> {
        validate_subscriber_name(subscriber)?;
        let shared = &self.shared;
        let shut_down = shared.maintenance.lock().await;
        if *shut_down || shared.is_closed() {
            return Err(HoseError::Closed);
        }
        let state = {
            let mut subscribers = lock(&shared.subscribers);
            let Some(state) = subscribers.get(subscriber).cloned() else {
                return Err(HoseError::UnknownSubscriber(subscriber.to_owned()));
            };
            if state.open.load(Ordering::Acquire) {
                return Err(HoseError::AlreadySubscribed(subscriber.to_owned()));
            }
            subscribers.remove(subscriber);
            state
        };
        state.clear_lag();
        let layout = shared.layout.clone();
        let dead_letters = shared.dead_letters.clone();
        let name = subscriber.to_owned();
        tokio::task::spawn_blocking(move || -> Result<(), HoseError> {
            // Closing first makes any straggling use of the queue fail instead of writing to a deleted file.
            let _ = lock(&state.deferred).close();
            remove_if_exists(&layout.cursor(&name))?;
            remove_if_exists(&layout.deferred(&name))?;
            sync_dir(&layout.subscribers_dir())?;
            dead_letters.remove_all(&name)?;
            Ok(())
        })
        .await
        .map_err(join_error)??;
        drop(shut_down);
        tracing::info!(subscriber, "unregistered hose subscriber");
        Ok(())
    }

    fn stats(&self) -> HoseStats {
        let shared = &self.shared;
        let end = shared.committed_end();
        let states = shared.subscriber_states();
        let log_bytes = end - shared.segments.first().unwrap_or(end).min(end);
        let deferred_bytes: u64 = states.iter().map(|s| s.deferred_file_bytes()).sum();
        HoseStats {
            end_position: end,
            subscribers: states.iter().map(|s| s.stats(end)).collect(),
            segments: shared.segments.len(),
            disk_bytes: log_bytes + deferred_bytes,
            retained_from: Some(shared.segments.first().unwrap_or(end)),
        }
    }

    fn health(&self) -> Result<(), String> {
        let shared = &self.shared;
        let mut failure = lock(&shared.write_failure);
        if let Some(last) = failure.as_ref() {
            // Readiness must not wait for a write that no traffic sends while it is not ready:
            // a write refused for space is over once there is room, and the next one tells.
            if last.for_space && shared.disk.has_room() {
                *failure = None;
            } else {
                return Err(last.reason.clone());
            }
        }
        drop(failure);
        shared.disk.check().map_err(|error| error.to_string())
    }

    async fn seal(&self) -> Result<Option<u64>, HoseError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.shared
            .send_to_writer(WriterRequest::Seal { done: done_tx })?;
        let end = done_rx
            .await
            .map_err(|_| HoseError::writer_failed("the writer thread has stopped"))??;
        Ok(Some(end))
    }

    async fn dead_letters(
        &self,
        subscriber: &str,
        limit: usize,
    ) -> Result<DeadLetterPage, HoseError> {
        self.shared.subscriber_state(subscriber)?;
        let files = self.shared.dead_letters.clone();
        let name = subscriber.to_owned();
        tokio::task::spawn_blocking(move || files.list(&name, limit))
            .await
            .map_err(join_error)?
    }

    async fn dead_letter(
        &self,
        subscriber: &str,
        id: &str,
    ) -> Result<Option<DeadLetter>, HoseError> {
        self.shared.subscriber_state(subscriber)?;
        let files = self.shared.dead_letters.clone();
        let (name, id) = (subscriber.to_owned(), id.to_owned());
        tokio::task::spawn_blocking(move || files.get(&name, &id))
            .await
            .map_err(join_error)?
    }

    async fn settle_dead_letter(
        &self,
        subscriber: &str,
        id: &str,
        settle: Settle,
    ) -> Result<bool, HoseError> {
        let state = self.shared.subscriber_state(subscriber)?;
        let files = self.shared.dead_letters.clone();
        let blocking_id = id.to_owned();
        let blocking_state = Arc::clone(&state);
        let settled = tokio::task::spawn_blocking(move || -> Result<bool, HoseError> {
            let (name, id) = (&blocking_state.name, &blocking_id);
            if settle == Settle::Retry {
                let Some(letter) = files.get(name, id)? else {
                    return Ok(false);
                };
                let now_ms = subscription::now_unix_ms();
                let messages: Vec<(&[u8], u64, u32)> = letter
                    .messages
                    .iter()
                    .map(|message| (&message[..], now_ms, letter.attempt))
                    .collect();
                // Queued before the dead letter goes: a crash between the two leaves a copy in
                // both places, never in neither.
                lock(&blocking_state.deferred).put_many(&messages)?;
            }
            files.remove(name, id)
        })
        .await
        .map_err(join_error)??;
        if settled && settle == Settle::Retry {
            state.note_requeued();
        }
        if settled {
            tracing::info!(subscriber, dead_letter = id, ?settle, "dead letter settled");
        }
        Ok(settled)
    }

    async fn close(&self) -> Result<(), HoseError> {
        let shared = &self.shared;
        if !shared.publish_gate.close().await {
            return Ok(());
        }
        shared.closed_tx.send_replace(true);

        drop(lock(&shared.writer_tx).take());
        let writer_thread = lock(&shared.writer_thread).take();
        if let Some(thread) = writer_thread {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .map_err(join_error)?
                .map_err(|_| HoseError::writer_failed("the writer thread panicked"))?;
        }

        let mut shut_down = shared.maintenance.lock().await;
        let flushed = flusher::flush(shared).await;
        let states = shared.subscriber_states();
        let closed_queues = tokio::task::spawn_blocking(move || -> Result<(), HoseError> {
            for state in &states {
                lock(&state.deferred).close()?;
            }
            Ok(())
        })
        .await
        .map_err(join_error)?;
        *shut_down = true;
        drop(lock(&shared.lock_file).take());
        tracing::info!(dir = %shared.layout.root().display(), "closed embedded hose");
        flushed.and(closed_queues)
    }
}

/// Whether a write failed for want of space (`ENOSPC`, or a quota's `EDQUOT`).
fn is_out_of_space(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Prepares the directory: lock, recover the log, load subscribers.
fn open_directory(layout: Layout, config: &EmbeddedConfig) -> Result<Opened, HoseError> {
    std::fs::create_dir_all(layout.root())?;
    let lock_file = acquire_lock(&layout)?;
    layout.create_dirs()?;
    let log = recovery::recover_log(&layout)?;
    let oldest = log.starts.first().copied().unwrap_or(0);
    let mut subscribers = Vec::new();
    for name in layout.list_subscribers()? {
        if validate_subscriber_name(&name).is_err() {
            tracing::warn!(file = %layout.cursor(&name).display(), "ignoring cursor file with an invalid subscriber name");
            continue;
        }
        let cursor = clamp_cursor(&name, read_cursor(&layout.cursor(&name))?, oldest, log.end);
        let deferred = DeferredStore::open(&layout.deferred(&name), config.max_record_bytes)?;
        subscribers.push(SubscriberState::new(name, cursor, deferred));
    }
    Ok(Opened {
        layout,
        lock_file,
        starts: log.starts,
        end: log.end,
        subscribers,
    })
}

/// Keeps a loaded cursor inside the log. Out-of-range cursors only arise from files edited or lost outside
/// the hose, so they are reported loudly.
fn clamp_cursor(name: &str, cursor: u64, oldest: u64, end: u64) -> u64 {
    if cursor > end {
        tracing::error!(
            subscriber = name,
            cursor,
            end,
            "cursor beyond the end of the log; resuming at the end"
        );
        end
    } else if cursor < oldest {
        tracing::error!(
            subscriber = name,
            cursor,
            oldest,
            "cursor before the oldest segment; those events are gone"
        );
        oldest
    } else {
        cursor
    }
}

/// Path of the segment file starting at `start` inside the hose directory `dir` (for tools and tests).
pub fn segment_path(dir: impl AsRef<Path>, start: u64) -> PathBuf {
    Layout::new(dir.as_ref()).segment(start)
}
