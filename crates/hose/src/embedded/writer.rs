//! The single log writer: a dedicated thread doing group commit.
//!
//! Publishers hand over fully encoded records. The thread takes every queued record, writes them all, makes
//! them durable with one `sync_data` (plus a directory fsync when it created a segment), then advances the
//! committed end and completes every publisher. An I/O error (a full disk, above all) leaves the segment tail
//! unknown: the next group first puts the log back as it was at the last commit — the segments created since are
//! deleted and the segment that was active then is cut back to its committed length — and goes on if that works,
//! so appends resume by themselves once the disk has room again. Readers never see any of it: they stop at the
//! committed end. Between groups it can also seal
//! the active segment on request, so that retention may delete everything written so far.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::{oneshot, watch};

use crate::embedded::layout::{remove_if_exists, sync_dir, Layout};
use crate::embedded::segments::SegmentIndex;
use crate::HoseError;

/// Most bytes written before one group's fsync; later requests go into the next group.
const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Why the log writer refuses appends: a write failed, and putting the log back as the last
/// commit left it failed too. The source of a
/// [`HoseError::WriterFailed`](crate::HoseError::WriterFailed); its own source is the
/// `io::Error` of putting the log back.
#[derive(Clone, Debug)]
pub struct WriterError {
    failed_write: String,
    put_back: Arc<io::Error>,
}

impl WriterError {
    /// What the write that failed first reported.
    pub fn failed_write(&self) -> &str {
        &self.failed_write
    }

    /// Why the log could not be put back.
    pub fn put_back_error(&self) -> &io::Error {
        &self.put_back
    }

    /// The hose's error for it.
    fn refusal(&self) -> HoseError {
        HoseError::WriterFailed {
            reason: self.to_string(),
            source: Some(Box::new(self.clone())),
        }
    }
}

impl fmt::Display for WriterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; putting the log back failed too: {}",
            self.failed_write, self.put_back
        )
    }
}

impl std::error::Error for WriterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.put_back)
    }
}

/// One record to append; `done` receives its log offset once durable.
pub(crate) struct AppendRequest {
    pub(crate) record: Vec<u8>,
    pub(crate) messages: u64,
    pub(crate) done: oneshot::Sender<Result<u64, HoseError>>,
}

/// What the writer thread is asked to do.
pub(crate) enum WriterRequest {
    /// Append a record.
    Append(AppendRequest),
    /// Seal the active segment unless it is empty; `done` receives the log's end, the start of
    /// the new active segment.
    Seal {
        done: oneshot::Sender<Result<u64, HoseError>>,
    },
}

/// The active segment as the last commit left it.
#[derive(Clone, Copy)]
struct Committed {
    active_start: u64,
    active_len: u64,
}

/// Running totals of the writer.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    pub(crate) records: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
}

/// Where the writer starts.
pub(crate) struct WriterStart {
    pub(crate) layout: Layout,
    pub(crate) segment_bytes: u64,
    pub(crate) active_start: u64,
    pub(crate) end: u64,
    pub(crate) index: Arc<SegmentIndex>,
    pub(crate) end_tx: watch::Sender<u64>,
    pub(crate) counters: Arc<WriterCounters>,
}

/// Starts the writer thread; it runs until every sender is dropped.
pub(crate) fn spawn_writer(
    start: WriterStart,
) -> io::Result<(mpsc::Sender<WriterRequest>, JoinHandle<()>)> {
    let active = OpenOptions::new()
        .append(true)
        .open(start.layout.segment(start.active_start))?;
    let writer = Writer::new(start, active);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("eventhose-hose-writer".into())
        .spawn(move || writer.run(rx))?;
    Ok((tx, thread))
}

struct Writer {
    start: WriterStart,
    active: File,
    /// Where the active segment starts in the log.
    active_start: u64,
    active_len: u64,
    /// The active segment at the last commit: what a failed group is put back to.
    committed: Committed,
    end: u64,
    /// Why the last write failed, until the log is put back.
    failure: Option<String>,
    fsync_seconds: metrics::Histogram,
    appended_bytes: metrics::Counter,
    appended_messages: metrics::Counter,
}

impl Writer {
    fn new(start: WriterStart, active: File) -> Writer {
        Writer {
            active,
            active_start: start.active_start,
            active_len: start.end - start.active_start,
            committed: Committed {
                active_start: start.active_start,
                active_len: start.end - start.active_start,
            },
            end: start.end,
            failure: None,
            fsync_seconds: metrics::histogram!("eventhose_hose_fsync_seconds"),
            appended_bytes: metrics::counter!("eventhose_hose_appended_bytes_total"),
            appended_messages: metrics::counter!("eventhose_hose_appended_messages_total"),
            start,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<WriterRequest>) {
        // A seal met while gathering a group waits for that group's commit.
        let mut next = None;
        loop {
            let first = match next.take() {
                Some(request) => request,
                None => match rx.recv() {
                    Ok(request) => request,
                    Err(_) => break,
                },
            };
            let first = match first {
                WriterRequest::Append(append) => append,
                WriterRequest::Seal { done } => {
                    let _ = done.send(self.seal());
                    continue;
                }
            };
            let mut group_bytes = first.record.len();
            let mut group = vec![first];
            while group_bytes < MAX_GROUP_BYTES {
                match rx.try_recv() {
                    Ok(WriterRequest::Append(request)) => {
                        group_bytes += request.record.len();
                        group.push(request);
                    }
                    Ok(seal) => {
                        next = Some(seal);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
    }

    /// Seals the active segment if it holds anything; returns the log's end.
    fn seal(&mut self) -> Result<u64, HoseError> {
        self.recover().map_err(|refused| refused.refusal())?;
        if self.active_len > 0 {
            if let Err(err) = self.roll(self.end) {
                self.failure = Some(err.to_string());
                return Err(err.into());
            }
            self.remember_committed();
        }
        Ok(self.end)
    }

    /// The active segment as it is now is what a later failure is put back to.
    fn remember_committed(&mut self) {
        self.committed = Committed {
            active_start: self.active_start,
            active_len: self.active_len,
        };
    }

    fn commit(&mut self, group: Vec<AppendRequest>) {
        if let Err(refused) = self.recover() {
            for request in group {
                let _ = request.done.send(Err(refused.refusal()));
            }
            return;
        }
        match self.write_group(&group) {
            Ok(offsets) => {
                self.remember_committed();
                self.start.end_tx.send_replace(self.end);
                let messages: u64 = group.iter().map(|r| r.messages).sum();
                let bytes: u64 = group.iter().map(|r| r.record.len() as u64).sum();
                let counters = &self.start.counters;
                counters
                    .records
                    .fetch_add(group.len() as u64, Ordering::Relaxed);
                counters.messages.fetch_add(messages, Ordering::Relaxed);
                counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                self.appended_bytes.increment(bytes);
                self.appended_messages.increment(messages);
                for (request, offset) in group.into_iter().zip(offsets) {
                    let _ = request.done.send(Ok(offset));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "hose log write failed; the next append puts the log back and tries again");
                self.failure = Some(err.to_string());
                for request in group {
                    let _ = request.done.send(Err(HoseError::Io(io::Error::new(
                        err.kind(),
                        err.to_string(),
                    ))));
                }
            }
        }
    }

    /// After a failed write, puts the log back as the last commit left it (the failed group's
    /// bytes and segments go; a full disk may have room again); the reason it cannot, if so.
    fn recover(&mut self) -> Result<(), WriterError> {
        let Some(failure) = self.failure.clone() else {
            return Ok(());
        };
        if let Err(err) = self.put_back() {
            return Err(WriterError {
                failed_write: failure,
                put_back: Arc::new(err),
            });
        }
        tracing::info!("hose log writable again: the failed write was cut off");
        self.failure = None;
        Ok(())
    }

    fn put_back(&mut self) -> io::Result<()> {
        let Committed {
            active_start,
            active_len,
        } = self.committed;
        if self.active_start != active_start {
            let layout = &self.start.layout;
            for start in self.start.index.take_after(active_start) {
                remove_if_exists(&layout.segment(start))?;
            }
            sync_dir(&layout.segments_dir())?;
            self.active = OpenOptions::new()
                .append(true)
                .open(layout.segment(active_start))?;
            self.active_start = active_start;
        }
        self.active.set_len(active_len)?;
        self.active.sync_data()?;
        self.active_len = active_len;
        Ok(())
    }

    /// Writes the group and makes it durable; returns each record's offset.
    fn write_group(&mut self, group: &[AppendRequest]) -> io::Result<Vec<u64>> {
        let mut offsets = Vec::with_capacity(group.len());
        let mut position = self.end;
        for request in group {
            if self.active_len >= self.start.segment_bytes {
                self.roll(position)?;
            }
            self.active.write_all(&request.record)?;
            offsets.push(position);
            position += request.record.len() as u64;
            self.active_len += request.record.len() as u64;
        }
        self.sync_active()?;
        self.end = position;
        Ok(offsets)
    }

    /// Seals the active segment (durably) and starts a new one at `position`.
    fn roll(&mut self, position: u64) -> io::Result<()> {
        self.sync_active()?;
        let layout = &self.start.layout;
        // A file already there is what a failed write left past the committed end: garbage.
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(layout.segment(position))?;
        active.set_len(0)?;
        self.active = active;
        // Known before the directory sync, so that a failure of it is put back too.
        self.active_start = position;
        self.active_len = 0;
        self.start.index.insert(position);
        if position == self.end {
            // Nothing past the committed end is in the segments before: a failed write is put
            // back to this one. Retention may delete those before once every subscriber has
            // reached the end, so they must not be what it is put back to.
            self.remember_committed();
        }
        sync_dir(&self.start.layout.segments_dir())
    }

    fn sync_active(&mut self) -> io::Result<()> {
        let started = Instant::now();
        self.active.sync_data()?;
        self.fsync_seconds.record(started.elapsed().as_secs_f64());
        self.start.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A writer on an empty segment 0 opened read-only, as if its last write had failed with
    /// `failure`: putting the log back (a truncation) fails.
    fn writer_that_cannot_put_back(dir: &std::path::Path, failure: &str) -> Writer {
        let layout = Layout::new(dir);
        std::fs::create_dir_all(layout.segments_dir()).unwrap();
        std::fs::write(layout.segment(0), b"").unwrap();
        let active = File::open(layout.segment(0)).unwrap();
        let mut writer = Writer::new(
            WriterStart {
                layout,
                segment_bytes: 1 << 20,
                active_start: 0,
                end: 0,
                index: Arc::new(SegmentIndex::new([0])),
                end_tx: watch::channel(0).0,
                counters: Arc::default(),
            },
            active,
        );
        writer.failure = Some(failure.to_owned());
        writer
    }

    #[test]
    fn a_log_that_cannot_be_put_back_is_refused_with_both_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = writer_that_cannot_put_back(dir.path(), "No space left on device");
        let refused = writer.recover().unwrap_err();
        assert_eq!(refused.failed_write(), "No space left on device");
        let put_back = refused
            .source()
            .and_then(|source| source.downcast_ref::<io::Error>())
            .expect("the put-back io::Error is the source");
        assert_eq!(put_back.kind(), refused.put_back_error().kind());
        assert!(
            refused
                .to_string()
                .starts_with("No space left on device; putting the log back failed too: "),
            "{refused}"
        );
        assert!(writer.failure.is_some(), "still refusing");
    }

    #[test]
    fn every_append_of_a_refused_group_gets_the_writer_error_as_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = writer_that_cannot_put_back(dir.path(), "disk gone");
        let (requests, mut answers): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| {
                let (done, answer) = oneshot::channel();
                let request = AppendRequest {
                    record: vec![0; 8],
                    messages: 1,
                    done,
                };
                (request, answer)
            })
            .unzip();
        writer.commit(requests);
        for answer in &mut answers {
            let error = answer.try_recv().unwrap().unwrap_err();
            assert!(
                matches!(
                    &error,
                    HoseError::WriterFailed {
                        source: Some(_),
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains("disk gone; putting the log back failed too"),
                "{error}"
            );
            let cause = error
                .source()
                .and_then(|source| source.downcast_ref::<WriterError>())
                .expect("the writer's error is the source");
            assert_eq!(cause.failed_write(), "disk gone");
            assert!(cause
                .source()
                .is_some_and(|source| source.downcast_ref::<io::Error>().is_some()));
        }
        let segment = writer.start.layout.segment(0);
        assert_eq!(
            std::fs::metadata(segment).unwrap().len(),
            0,
            "nothing written"
        );
    }
}
