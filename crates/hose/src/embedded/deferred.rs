//! A subscriber's durable delayed queue (messages scheduled for redelivery after a delay).
//!
//! Storage choice: one append-only file of checksummed `Put` and `Done` records per subscriber. A defer is
//! one sequential append plus one `sync_data`, the same cost profile as the main log, and an ack is one small
//! append made durable by the next flush (losing it in a crash only causes a redelivery). Memory holds just an
//! index (due time, id, file offset), never payloads. Replay on open is a linear scan. When nothing in the file
//! is live it is emptied; when most of it is dead, the maintenance task compacts it by copying the live `Put`s to
//! a new file and renaming it over the old one. The copy runs without the store's lock (the file is append-only,
//! so what it reads cannot change); only the tail written meanwhile is copied under the lock, so a delayed queue
//! holding a slow webhook's large backlog never stalls its subscriber for the length of a rewrite. Alternatives were worse here: a file per message costs a create, an fsync and a directory fsync
//! per defer plus directory churn; an embedded database would add a heavy dependency for a queue that only
//! needs append, scan and rewrite; and keeping delayed messages in the main log would pin its retention to
//! the longest delay.
//!
//! Record format: `kind: u8` (1 = Put, 2 = Done), `body_len: u32 LE`, `crc32: u32 LE` over kind, body_len and
//! body, then the body. Put body: `id: u64`, `due_unix_ms: u64`, `attempt: u32`, message bytes. Done body: `id: u64`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::embedded::layout::{sync_dir, temp_path};
use crate::{HoseError, Message, Rewrite, RewriteReport};

const KIND_PUT: u8 = 1;
const KIND_DONE: u8 = 2;
const RECORD_HEADER: usize = 9;
/// Header bytes the checksum covers: the kind and the body length in front of it.
const CRC_COVERED: usize = 5;
const PUT_FIXED: usize = 20;
const DONE_BODY: usize = 8;
/// Compaction only pays off above this file size.
/// The file is rewritten (or emptied) only once it is this large: below it, the dead records
/// cost little disk, while rewriting on every few messages (webhook batches are ~1 MiB each)
/// would cost a rewrite and a sync per batch.
const DEFAULT_COMPACT_MIN_BYTES: u64 = 64 * 1024 * 1024;
const READ_BUFFER: usize = 1024 * 1024;

/// Figures of a store readable without its lock (for stats).
#[derive(Debug, Default)]
pub(crate) struct DeferredTotals {
    pub(crate) messages: AtomicUsize,
    pub(crate) file_bytes: AtomicU64,
}

/// What a poll of the delayed queue found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DuePoll {
    /// A message whose due time has passed; it is now in flight until acked or the queue is reset.
    Due {
        id: u64,
        attempt: u32,
        message: Message,
    },
    /// Nothing is due; the earliest pending due time, if any.
    Idle { next_due_ms: Option<u64> },
}

#[derive(Debug)]
struct Entry {
    attempt: u32,
    payload_offset: u64,
    payload_len: usize,
    record_len: u64,
    in_flight: bool,
    /// For a message deferred by this process: the moment (on the monotonic clock) before
    /// which it is not due, whatever the wall clock says (a wall clock slewed forward would
    /// otherwise hand it out early).
    not_before: Option<Instant>,
}

/// The delayed queue of one subscriber. All methods do blocking I/O.
#[derive(Debug)]
pub(crate) struct DeferredStore {
    path: PathBuf,
    file: File,
    file_len: u64,
    live_bytes: u64,
    by_due: BTreeMap<(u64, u64), Entry>,
    due_of: HashMap<u64, u64>,
    /// Messages in flight that a rewrite dropped: acknowledging them is harmless.
    forgotten: HashSet<u64>,
    next_id: u64,
    unsynced: bool,
    closed: bool,
    max_message_bytes: u64,
    /// The file is not rewritten or emptied below this size.
    compact_min_bytes: u64,
    /// Moves whenever the file is replaced or emptied: a compaction copied from an older
    /// file is abandoned.
    generation: u64,
    totals: Arc<DeferredTotals>,
}

enum Parsed {
    Put { id: u64, due_ms: u64, attempt: u32 },
    Done { id: u64 },
}

impl DeferredStore {
    /// Opens (creating if needed) and replays the store at `path`, cutting off a torn tail.
    pub(crate) fn open(path: &Path, max_message_bytes: u64) -> Result<Self, HoseError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut store = Self {
            path: path.to_path_buf(),
            file,
            file_len: 0,
            live_bytes: 0,
            by_due: BTreeMap::new(),
            due_of: HashMap::new(),
            forgotten: HashSet::new(),
            next_id: 1,
            unsynced: false,
            closed: false,
            max_message_bytes,
            compact_min_bytes: DEFAULT_COMPACT_MIN_BYTES,
            generation: 0,
            totals: Arc::new(DeferredTotals::default()),
        };
        store.replay()?;
        store.publish_totals();
        Ok(store)
    }

    /// Lock-free view of the store's size.
    pub(crate) fn totals(&self) -> Arc<DeferredTotals> {
        Arc::clone(&self.totals)
    }

    /// Durably stores `message` to come due at `due_ms` (Unix milliseconds); returns its id.
    #[cfg(test)]
    pub(crate) fn put(
        &mut self,
        message: &[u8],
        due_ms: u64,
        attempt: u32,
    ) -> Result<u64, HoseError> {
        let ids = self.put_many(&[(message, due_ms, attempt)])?;
        Ok(ids.first().copied().unwrap_or_default())
    }

    /// Durably stores each `(message, due_ms, attempt)` with one sync for all; returns their
    /// ids. On failure none is stored.
    pub(crate) fn put_many(
        &mut self,
        messages: &[(&[u8], u64, u32)],
    ) -> Result<Vec<u64>, HoseError> {
        self.ensure_open()?;
        if let Some((message, _, _)) = messages
            .iter()
            .find(|(message, _, _)| message.len() as u64 > self.max_message_bytes)
        {
            return Err(HoseError::TooLarge {
                bytes: message.len() as u64,
                max_bytes: self.max_message_bytes,
            });
        }
        let start = self.file_len;
        // Taken before writing: a failed write whose records could not be cut off must not
        // leave ids that later messages would take again.
        let first_id = self.next_id;
        self.next_id += messages.len() as u64;
        let mut records = Vec::with_capacity(messages.len());
        for (i, &(message, due_ms, attempt)) in messages.iter().enumerate() {
            let id = first_id + i as u64;
            let offset = self.file_len;
            match self.append(KIND_PUT, &put_body(id, due_ms, attempt, message)) {
                Ok(record_len) => records.push((id, due_ms, attempt, offset, record_len)),
                Err(err) => return Err(self.cut_back(start, err)),
            }
        }
        if let Err(err) = self.file.sync_data() {
            return Err(self.cut_back(start, err.into()));
        }
        self.unsynced = false;
        let ids = records.iter().map(|record| record.0).collect();
        for (id, due_ms, attempt, offset, record_len) in records {
            self.insert(id, due_ms, attempt, offset, record_len);
        }
        self.publish_totals();
        Ok(ids)
    }

    /// Cuts the file back to `len` after a failed write, so no record the index lacks stays
    /// in it; returns `err`.
    fn cut_back(&mut self, len: u64, err: HoseError) -> HoseError {
        if self.file.set_len(len).is_ok() {
            self.file_len = len;
        }
        err
    }

    /// Hands out the earliest due message not already in flight, or says when the next one is due.
    pub(crate) fn poll_due(&mut self, now_ms: u64) -> Result<DuePoll, HoseError> {
        self.ensure_open()?;
        let now = Instant::now();
        // The earliest message due on both clocks; a message held back on the monotonic one
        // (the wall clock stepped forward) does not hold up those behind it.
        let mut next_due_ms: Option<u64> = None;
        let mut due = None;
        for (&(due_ms, id), entry) in self.by_due.iter().filter(|(_, e)| !e.in_flight) {
            if due_ms > now_ms {
                next_due_ms = Some(next_due_ms.map_or(due_ms, |next| next.min(due_ms)));
                break;
            }
            let held = entry.not_before.map_or(0, |not_before| {
                let left = not_before.saturating_duration_since(now);
                u64::try_from(left.as_micros().div_ceil(1_000)).unwrap_or(u64::MAX)
            });
            if held == 0 {
                due = Some((due_ms, id));
                break;
            }
            let ready_ms = now_ms.saturating_add(held);
            next_due_ms = Some(next_due_ms.map_or(ready_ms, |next| next.min(ready_ms)));
        }
        let Some(key) = due else {
            return Ok(DuePoll::Idle { next_due_ms });
        };
        let Some(entry) = self.by_due.get_mut(&key) else {
            return Ok(DuePoll::Idle { next_due_ms });
        };
        let mut payload = vec![0u8; entry.payload_len];
        self.file
            .read_exact_at(&mut payload, entry.payload_offset)?;
        entry.in_flight = true;
        Ok(DuePoll::Due {
            id: key.1,
            attempt: entry.attempt,
            message: Bytes::from(payload),
        })
    }

    /// Removes a delivered message for good. The removal is made durable by the next [`sync`](Self::sync).
    pub(crate) fn done(&mut self, id: u64) -> Result<(), HoseError> {
        self.ensure_open()?;
        let Some(due_ms) = self.due_of.remove(&id) else {
            if self.forgotten.remove(&id) {
                return Ok(()); // dropped by a rewrite while in flight
            }
            return Err(HoseError::UnknownDelivery(format!("deferred message {id}")));
        };
        if let Some(entry) = self.by_due.remove(&(due_ms, id)) {
            self.live_bytes -= entry.record_len;
        }
        self.append(KIND_DONE, &id.to_le_bytes())?;
        self.unsynced = true;
        self.empty_if_dead()?;
        self.publish_totals();
        Ok(())
    }

    /// Holds message `id` back until `not_before` on the monotonic clock as well as until its
    /// due time on the wall clock.
    pub(crate) fn not_before(&mut self, id: u64, not_before: Instant) {
        if let Some(entry) = self
            .due_of
            .get(&id)
            .and_then(|due_ms| self.by_due.get_mut(&(*due_ms, id)))
        {
            entry.not_before = Some(not_before);
        }
    }

    /// Makes every in-flight message deliverable again (a new subscription took over).
    pub(crate) fn reset_in_flight(&mut self) {
        self.forgotten.clear();
        for entry in self.by_due.values_mut() {
            entry.in_flight = false;
        }
    }

    /// Flushes pending `Done` records to stable storage.
    pub(crate) fn sync(&mut self) -> Result<(), HoseError> {
        if self.unsynced {
            self.file.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Syncs and refuses all further operations.
    pub(crate) fn close(&mut self) -> Result<(), HoseError> {
        let result = self.sync();
        self.closed = true;
        result
    }

    /// Number of stored messages.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_due.len()
    }

    fn ensure_open(&self) -> Result<(), HoseError> {
        if self.closed {
            return Err(HoseError::Closed);
        }
        Ok(())
    }

    fn publish_totals(&self) {
        self.totals
            .messages
            .store(self.by_due.len(), Ordering::Relaxed);
        self.totals
            .file_bytes
            .store(self.file_len, Ordering::Relaxed);
    }

    fn insert(&mut self, id: u64, due_ms: u64, attempt: u32, offset: u64, record_len: usize) {
        let entry = Entry {
            attempt,
            payload_offset: offset + (RECORD_HEADER + PUT_FIXED) as u64,
            payload_len: record_len - RECORD_HEADER - PUT_FIXED,
            record_len: record_len as u64,
            in_flight: false,
            not_before: None,
        };
        self.by_due.insert((due_ms, id), entry);
        self.due_of.insert(id, due_ms);
        self.live_bytes += record_len as u64;
    }

    /// Appends one record and returns its length; on failure cuts the file back so no partial
    /// record stays behind.
    fn append(&mut self, kind: u8, body: &[u8]) -> Result<usize, HoseError> {
        let record = encode_record(kind, body)?;
        if let Err(err) = self.file.write_all(&record) {
            let _ = self.file.set_len(self.file_len);
            return Err(err.into());
        }
        self.file_len += record.len() as u64;
        Ok(record.len())
    }

    fn replay(&mut self) -> Result<(), HoseError> {
        let mut reader = BufReader::with_capacity(READ_BUFFER, File::open(&self.path)?);
        let mut offset = 0u64;
        let mut header = [0u8; RECORD_HEADER];
        let mut body = Vec::new();
        loop {
            let got = read_full(&mut reader, &mut header)?;
            if got == 0 {
                break;
            }
            let problem = if got < RECORD_HEADER {
                Some("record header cut short".to_owned())
            } else {
                match plausible_body_len(&header) {
                    None => Some("implausible record header".to_owned()),
                    Some(body_len) => {
                        body.resize(body_len, 0);
                        if read_full(&mut reader, &mut body)? < body_len {
                            Some("record body cut short".to_owned())
                        } else if record_crc(&header, &body) != header_crc(&header) {
                            Some("record checksum mismatch".to_owned())
                        } else {
                            None
                        }
                    }
                }
            };
            if let Some(reason) = problem {
                return self.cut_torn_tail(offset, &reason);
            }
            let record_len = RECORD_HEADER + body.len();
            match parse_body(header[0], &body) {
                Parsed::Put {
                    id,
                    due_ms,
                    attempt,
                } => {
                    self.insert(id, due_ms, attempt, offset, record_len);
                    self.next_id = self.next_id.max(id + 1);
                }
                Parsed::Done { id } => {
                    if let Some(due_ms) = self.due_of.remove(&id) {
                        if let Some(entry) = self.by_due.remove(&(due_ms, id)) {
                            self.live_bytes -= entry.record_len;
                        }
                    }
                    self.next_id = self.next_id.max(id + 1);
                }
            }
            offset += record_len as u64;
        }
        self.file_len = offset;
        Ok(())
    }

    /// The record at `offset` is invalid: corruption if a valid record follows, else a torn tail to cut.
    fn cut_torn_tail(&mut self, offset: u64, reason: &str) -> Result<(), HoseError> {
        let mut rest = Vec::new();
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        file.read_to_end(&mut rest)?;
        let follows = (1..rest.len()).find(|&i| valid_record_at(&rest[i..]));
        if let Some(next) = follows {
            return Err(HoseError::corrupt(
                &self.path,
                offset,
                format!(
                    "{reason}, yet a valid record follows at offset {}",
                    offset + next as u64
                ),
            ));
        }
        tracing::warn!(
            file = %self.path.display(),
            offset,
            cut_bytes = rest.len(),
            reason,
            "truncating torn tail of a delayed queue"
        );
        self.file.set_len(offset)?;
        self.file.sync_all()?;
        self.file_len = offset;
        Ok(())
    }

    /// Empties the file once nothing in it is live (cheap: a truncation and a sync).
    fn empty_if_dead(&mut self) -> Result<(), HoseError> {
        if !self.by_due.is_empty() || self.file_len == 0 || self.file_len < self.compact_min_bytes {
            return Ok(());
        }
        self.file.set_len(0)?;
        self.file.sync_data()?;
        self.file_len = 0;
        self.live_bytes = 0;
        self.unsynced = false;
        self.generation += 1;
        Ok(())
    }

    /// The first step of a compaction, under the lock: what to copy, when the file is large
    /// and mostly dead. The copy ([`CompactionSnapshot::copy`]) runs without the lock.
    pub(crate) fn compaction_snapshot(&self) -> Option<CompactionSnapshot> {
        if self.closed
            || self.file_len < self.compact_min_bytes
            || self.by_due.is_empty()
            || self.live_bytes * 2 > self.file_len
        {
            return None;
        }
        Some(CompactionSnapshot {
            source: self.path.clone(),
            generation: self.generation,
            end: self.file_len,
            live: self
                .by_due
                .iter()
                .map(|(&(due_ms, id), entry)| Copy {
                    id,
                    due_ms,
                    attempt: entry.attempt,
                    payload_offset: entry.payload_offset,
                    payload_len: entry.payload_len,
                })
                .collect(),
        })
    }

    /// The last step of a compaction, under the lock: copies what was put since the snapshot,
    /// marks done what was done since, and puts the new file in place of the old one. A
    /// compaction of a file replaced meanwhile is abandoned.
    pub(crate) fn finish_compaction(&mut self, copied: CopiedFile) -> Result<(), HoseError> {
        let CopiedFile {
            generation,
            end,
            temp,
            mut out,
            mut written,
            mut moved,
        } = copied;
        if self.closed || generation != self.generation {
            drop(out);
            let _ = std::fs::remove_file(&temp);
            return Ok(());
        }
        // Done since the snapshot: a `Done` keeps a replay from bringing them back.
        let done_since: Vec<u64> = moved
            .keys()
            .copied()
            .filter(|id| !self.due_of.contains_key(id))
            .collect();
        for id in done_since {
            moved.remove(&id);
            let record = encode_record(KIND_DONE, &id.to_le_bytes())?;
            out.write_all(&record)?;
            written += record.len() as u64;
        }
        // Put since the snapshot: their records lie past its end.
        let mut payload = Vec::new();
        for (&(due_ms, id), entry) in &self.by_due {
            if moved.contains_key(&id) {
                continue;
            }
            debug_assert!(entry.payload_offset >= end);
            payload.resize(entry.payload_len, 0);
            self.file
                .read_exact_at(&mut payload, entry.payload_offset)?;
            let record = encode_record(KIND_PUT, &put_body(id, due_ms, entry.attempt, &payload))?;
            out.write_all(&record)?;
            moved.insert(id, (written, record.len() as u64));
            written += record.len() as u64;
        }
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_data()?;
        self.replace_file(&temp)?;
        let mut live_bytes = 0;
        for (&(_, id), entry) in &mut self.by_due {
            if let Some(&(offset, record_len)) = moved.get(&id) {
                entry.payload_offset = offset + (RECORD_HEADER + PUT_FIXED) as u64;
                entry.record_len = record_len;
                live_bytes += record_len;
            }
        }
        tracing::debug!(file = %self.path.display(), from = self.file_len, to = written, "compacted delayed queue");
        self.file_len = written;
        self.live_bytes = live_bytes;
        self.unsynced = false;
        self.publish_totals();
        self.sync_parent()
    }

    /// Puts `temp` in the file's place. The handle is opened on `temp` first, so once the
    /// rename is done nothing can fail before the store uses the new file (a failure after it
    /// would leave the store writing to the deleted old one). The caller updates its index,
    /// then makes the rename durable with [`sync_parent`](Self::sync_parent).
    fn replace_file(&mut self, temp: &Path) -> Result<(), HoseError> {
        let file = OpenOptions::new().read(true).append(true).open(temp)?;
        std::fs::rename(temp, &self.path)?;
        self.file = file;
        self.generation += 1;
        Ok(())
    }

    /// Makes a rename in the file's directory durable.
    fn sync_parent(&self) -> Result<(), HoseError> {
        if let Some(parent) = self.path.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Passes every stored message through `rewrite` and writes the file anew with the results
    /// (a new file renamed over the old one, so neither what was replaced or dropped nor what
    /// was delivered before stays in it). Ids, due times and attempts are kept; a message in
    /// flight that is dropped may still be acknowledged.
    pub(crate) fn rewrite(
        &mut self,
        rewrite: &dyn Fn(&[u8]) -> Rewrite,
    ) -> Result<RewriteReport, HoseError> {
        self.ensure_open()?;
        let mut report = RewriteReport::default();
        let temp = temp_path(&self.path);
        let mut out = BufWriter::new(File::create(&temp)?);
        let mut written = 0u64;
        // Applied to the index only once the new file has replaced the old one: a failure
        // before that leaves the store as it was.
        let mut moved = Vec::with_capacity(self.by_due.len());
        let mut dropped = Vec::new();
        for (&(due_ms, id), entry) in &self.by_due {
            let mut payload = vec![0u8; entry.payload_len];
            self.file
                .read_exact_at(&mut payload, entry.payload_offset)?;
            let payload = match rewrite(&payload) {
                Rewrite::Keep => {
                    report.kept += 1;
                    payload
                }
                Rewrite::Replace(replaced) => {
                    report.replaced += 1;
                    replaced.to_vec()
                }
                Rewrite::Drop => {
                    report.dropped += 1;
                    dropped.push((due_ms, id, entry.in_flight));
                    continue;
                }
            };
            let record = encode_record(KIND_PUT, &put_body(id, due_ms, entry.attempt, &payload))?;
            out.write_all(&record)?;
            moved.push(((due_ms, id), written, payload.len(), record.len() as u64));
            written += record.len() as u64;
        }
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_data()?;
        self.replace_file(&temp)?;
        for (key, offset, payload_len, record_len) in moved {
            if let Some(entry) = self.by_due.get_mut(&key) {
                entry.payload_offset = offset + (RECORD_HEADER + PUT_FIXED) as u64;
                entry.payload_len = payload_len;
                entry.record_len = record_len;
            }
        }
        for (due_ms, id, in_flight) in dropped {
            self.by_due.remove(&(due_ms, id));
            self.due_of.remove(&id);
            if in_flight {
                self.forgotten.insert(id);
            }
        }
        tracing::debug!(file = %self.path.display(), from = self.file_len, to = written, "rewrote delayed queue");
        self.file_len = written;
        self.live_bytes = written;
        self.unsynced = false;
        self.publish_totals();
        self.sync_parent()?;
        Ok(report)
    }
}

/// One live message a compaction copies.
#[derive(Debug)]
struct Copy {
    id: u64,
    due_ms: u64,
    attempt: u32,
    payload_offset: u64,
    payload_len: usize,
}

/// What a compaction copies, taken under the store's lock.
#[derive(Debug)]
pub(crate) struct CompactionSnapshot {
    source: PathBuf,
    generation: u64,
    /// The file's length when taken: everything put later lies past it.
    end: u64,
    live: Vec<Copy>,
}

/// A compaction's new file, written but not yet in place.
pub(crate) struct CopiedFile {
    generation: u64,
    end: u64,
    temp: PathBuf,
    out: BufWriter<File>,
    written: u64,
    /// Where each copied message's record starts in the new file, and its length.
    moved: HashMap<u64, (u64, u64)>,
}

impl CompactionSnapshot {
    /// Copies the snapshot's live messages into a new file, without the store's lock: the
    /// file only grows, and a replaced one is still readable through the handle opened here.
    pub(crate) fn copy(self) -> Result<CopiedFile, HoseError> {
        // A name of its own: a rewrite may write the store's usual temporary file meanwhile.
        let mut name = self.source.as_os_str().to_owned();
        name.push(".compaction");
        let temp = temp_path(Path::new(&name));
        let copied = self.copy_to(&temp);
        if copied.is_err() {
            // Emptied meanwhile (the copy read past its end), or an I/O error: tried again
            // at the next maintenance.
            let _ = std::fs::remove_file(&temp);
        }
        copied
    }

    fn copy_to(self, temp: &Path) -> Result<CopiedFile, HoseError> {
        let source = File::open(&self.source)?;
        let mut out = BufWriter::new(File::create(temp)?);
        let mut written = 0u64;
        let mut moved = HashMap::with_capacity(self.live.len());
        let mut payload = Vec::new();
        for copy in &self.live {
            payload.resize(copy.payload_len, 0);
            source.read_exact_at(&mut payload, copy.payload_offset)?;
            let record = encode_record(
                KIND_PUT,
                &put_body(copy.id, copy.due_ms, copy.attempt, &payload),
            )?;
            out.write_all(&record)?;
            moved.insert(copy.id, (written, record.len() as u64));
            written += record.len() as u64;
        }
        Ok(CopiedFile {
            generation: self.generation,
            end: self.end,
            temp: temp.to_path_buf(),
            out,
            written,
            moved,
        })
    }
}

/// The body of a `Put` record.
fn put_body(id: u64, due_ms: u64, attempt: u32, message: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(PUT_FIXED + message.len());
    body.extend_from_slice(&id.to_le_bytes());
    body.extend_from_slice(&due_ms.to_le_bytes());
    body.extend_from_slice(&attempt.to_le_bytes());
    body.extend_from_slice(message);
    body
}

fn encode_record(kind: u8, body: &[u8]) -> Result<Vec<u8>, HoseError> {
    let body_len = u32::try_from(body.len()).map_err(|_| HoseError::TooLarge {
        bytes: (RECORD_HEADER + body.len()) as u64,
        max_bytes: u64::from(u32::MAX),
    })?;
    let mut record = Vec::with_capacity(RECORD_HEADER + body.len());
    record.push(kind);
    record.extend_from_slice(&body_len.to_le_bytes());
    let crc = record_crc(&record, body);
    record.extend_from_slice(&crc.to_le_bytes());
    record.extend_from_slice(body);
    Ok(record)
}

/// The checksum of a record: over the kind and body length at the start of its `header` (the
/// bytes in front of the checksum field), then the body.
fn record_crc(header: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..CRC_COVERED]);
    hasher.update(body);
    hasher.finalize()
}

fn header_crc(header: &[u8; RECORD_HEADER]) -> u32 {
    u32::from_le_bytes([header[5], header[6], header[7], header[8]])
}

/// Body length announced by a header, if the kind and length make sense together. Message sizes are not
/// held to the current limit, so records written under a larger one stay readable.
fn plausible_body_len(header: &[u8]) -> Option<usize> {
    let len = u32::from_le_bytes([
        *header.get(1)?,
        *header.get(2)?,
        *header.get(3)?,
        *header.get(4)?,
    ]) as usize;
    match *header.first()? {
        KIND_PUT if len >= PUT_FIXED => Some(len),
        KIND_DONE if len == DONE_BODY => Some(len),
        _ => None,
    }
}

fn valid_record_at(bytes: &[u8]) -> bool {
    let Some(body_len) = plausible_body_len(bytes) else {
        return false;
    };
    let Some(body) = bytes.get(RECORD_HEADER..RECORD_HEADER + body_len) else {
        return false;
    };
    let crc = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
    record_crc(bytes, body) == crc
}

fn parse_body(kind: u8, body: &[u8]) -> Parsed {
    let u64_at = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&body[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    if kind == KIND_PUT {
        Parsed::Put {
            id: u64_at(0),
            due_ms: u64_at(8),
            attempt: u32::from_le_bytes([body[16], body[17], body[18], body[19]]),
        }
    } else {
        Parsed::Done { id: u64_at(0) }
    }
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_test_support::files::file_holds;

    const MAX: u64 = 1 << 20;

    fn due(store: &mut DeferredStore, now_ms: u64) -> Option<(u64, u32, Message)> {
        match store.poll_due(now_ms).unwrap() {
            DuePoll::Due {
                id,
                attempt,
                message,
            } => Some((id, attempt, message)),
            DuePoll::Idle { .. } => None,
        }
    }

    #[test]
    fn delivers_in_due_order_and_replays_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        let late = store.put(b"late", 300, 1).unwrap();
        let early = store.put(b"early", 100, 2).unwrap();
        let middle = store.put(b"middle", 200, 3).unwrap();
        assert_eq!(
            store.poll_due(50).unwrap(),
            DuePoll::Idle {
                next_due_ms: Some(100)
            }
        );

        let (id, attempt, message) = due(&mut store, 1_000).unwrap();
        assert_eq!((id, attempt, &message[..]), (early, 2, &b"early"[..]));
        store.done(early).unwrap();
        let (id, _, _) = due(&mut store, 1_000).unwrap();
        assert_eq!(id, middle, "in-flight entries are skipped, next due comes");
        drop(store);

        let mut store = DeferredStore::open(&path, MAX).unwrap();
        assert_eq!(store.len(), 2, "the unacked in-flight message survives");
        let (id, attempt, message) = due(&mut store, 1_000).unwrap();
        assert_eq!((id, attempt, &message[..]), (middle, 3, &b"middle"[..]));
        let (id, _, _) = due(&mut store, 1_000).unwrap();
        assert_eq!(id, late);
        assert_eq!(
            store.poll_due(1_000).unwrap(),
            DuePoll::Idle { next_due_ms: None }
        );
        store.reset_in_flight();
        assert_eq!(due(&mut store, 1_000).unwrap().0, middle);
        let fresh = store.put(b"new", 5, 0).unwrap();
        assert!(fresh > late, "ids are not reused after replay");
    }

    #[test]
    fn a_message_deferred_here_waits_out_its_delay_on_the_monotonic_clock_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeferredStore::open(&dir.path().join("s.deferred"), MAX).unwrap();
        // Due by the wall clock (it ran fast), not by the monotonic one.
        let id = store.put(b"held", 1_000, 1).unwrap();
        store.not_before(id, Instant::now() + std::time::Duration::from_secs(3_600));
        match store.poll_due(1_000).unwrap() {
            DuePoll::Idle {
                next_due_ms: Some(next),
            } => assert!(next > 1_000 + 3_500_000, "next poll at {next}"),
            other => panic!("handed out early: {other:?}"),
        }
        // A message behind it, due on both clocks, is not held up by it.
        let behind = store.put(b"behind", 1_000, 1).unwrap();
        assert_eq!(due(&mut store, 1_000).unwrap().0, behind);
        store.not_before(id, Instant::now());
        assert_eq!(due(&mut store, 1_000).unwrap().0, id);
    }

    #[test]
    fn unknown_ids_and_closed_store_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeferredStore::open(&dir.path().join("s.deferred"), MAX).unwrap();
        assert!(matches!(store.done(42), Err(HoseError::UnknownDelivery(_))));
        assert!(store.put(&[0; 2000], 0, 0).is_ok());
        assert!(matches!(
            DeferredStore::open(&dir.path().join("t.deferred"), 10)
                .unwrap()
                .put(&[0; 11], 0, 0),
            Err(HoseError::TooLarge { .. })
        ));
        store.close().unwrap();
        assert!(matches!(store.put(b"x", 0, 0), Err(HoseError::Closed)));
        assert!(matches!(store.poll_due(0), Err(HoseError::Closed)));
    }

    #[test]
    fn empties_the_file_when_nothing_is_live_and_compacts_when_mostly_dead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        // Small files are left alone: rewriting them would cost a sync per message.
        let id = store.put(b"only", 0, 0).unwrap();
        store.done(id).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 0);

        store.compact_min_bytes = 0;
        let id = store.put(b"only", 0, 0).unwrap();
        store.done(id).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);

        let compact_min_bytes = 1024 * 1024;
        store.compact_min_bytes = compact_min_bytes;

        let message = vec![7u8; 64 * 1024];
        let ids: Vec<u64> = (0..40)
            .map(|i| store.put(&message, i, 0).unwrap())
            .collect();
        let keep = [ids[5], ids[33]];
        for id in ids.iter().filter(|id| !keep.contains(id)) {
            store.done(*id).unwrap();
        }
        let snapshot = store.compaction_snapshot().expect("mostly dead");
        store.finish_compaction(snapshot.copy().unwrap()).unwrap();
        assert!(
            store.compaction_snapshot().is_none(),
            "nothing left to gain"
        );
        let size = std::fs::metadata(&path).unwrap().len();
        let written = 40 * message.len() as u64;
        assert!(
            size <= compact_min_bytes,
            "file was not compacted: {size} of {written} bytes remain"
        );
        drop(store);
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        assert_eq!(store.len(), 2);
        let (id, _, payload) = due(&mut store, 100).unwrap();
        assert_eq!((id, payload.len()), (keep[0], message.len()));
        assert_eq!(due(&mut store, 100).unwrap().0, keep[1]);
    }

    #[test]
    fn a_compaction_copies_without_the_lock_and_keeps_what_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        store.compact_min_bytes = 64 * 1024;
        let message = vec![3u8; 16 * 1024];
        let ids: Vec<u64> = (0..20)
            .map(|i| store.put(&message, 100 + i, 1).unwrap())
            .collect();
        for id in &ids[..16] {
            store.done(*id).unwrap();
        }
        let snapshot = store.compaction_snapshot().expect("mostly dead");
        // While the copy runs: one copied message is delivered, two new ones are put (one
        // delivered again at once).
        let copied = snapshot.copy().unwrap();
        store.done(ids[17]).unwrap();
        let late = store.put(b"late", 50, 2).unwrap();
        let gone = store.put(b"gone", 60, 2).unwrap();
        store.done(gone).unwrap();
        store.finish_compaction(copied).unwrap();
        let expect = [(late, 2, b"late".to_vec()), (ids[16], 1, message.clone())];
        let expect_rest = [(ids[18], 1, message.clone()), (ids[19], 1, message.clone())];
        let check = |store: &mut DeferredStore| {
            assert_eq!(store.len(), 4);
            for (id, attempt, payload) in expect.iter().chain(&expect_rest) {
                let (got, got_attempt, got_payload) = due(store, 1_000).unwrap();
                assert_eq!((got, got_attempt), (*id, *attempt));
                assert_eq!(&got_payload[..], &payload[..]);
            }
        };
        check(&mut store);
        assert!(std::fs::metadata(&path).unwrap().len() < 5 * message.len() as u64);
        drop(store);
        check(&mut DeferredStore::open(&path, MAX).unwrap());
    }

    #[test]
    fn a_compaction_of_a_file_replaced_meanwhile_is_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        store.compact_min_bytes = 1024;
        let ids: Vec<u64> = (0..8u8)
            .map(|i| store.put(&[i; 512], u64::from(i), 1).unwrap())
            .collect();
        for id in &ids[..6] {
            store.done(*id).unwrap();
        }
        let copied = store.compaction_snapshot().unwrap().copy().unwrap();
        store
            .rewrite(&|message| {
                if message[0] == 6 {
                    Rewrite::Drop
                } else {
                    Rewrite::Keep
                }
            })
            .unwrap();
        store.finish_compaction(copied).unwrap();
        drop(store);
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        assert_eq!(
            store.len(),
            1,
            "the compaction did not bring the dropped message back"
        );
        assert_eq!(due(&mut store, 100).unwrap().0, ids[7]);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() == 1,
            "no temporary file is left"
        );
    }

    #[test]
    fn a_rewrite_leaves_no_trace_of_what_it_took_out_or_of_delivered_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        let delivered = store.put(b"delivered ann@example.com", 10, 1).unwrap();
        let replaced = store
            .put(b"batch of ann@example.com and bob", 20, 2)
            .unwrap();
        let dropped_in_flight = store.put(b"only ann@example.com", 30, 3).unwrap();
        let untouched = store.put(b"only bob", 40, 4).unwrap();
        assert_eq!(due(&mut store, 10).unwrap().0, delivered);
        store.done(delivered).unwrap();
        assert_eq!(due(&mut store, 20).unwrap().0, replaced);
        assert_eq!(due(&mut store, 30).unwrap().0, dropped_in_flight);
        assert!(file_holds(&path, b"ann@example.com"));

        let report = store
            .rewrite(&|message| {
                if message.starts_with(b"only ann") {
                    Rewrite::Drop
                } else if message.starts_with(b"batch") {
                    Rewrite::Replace(Bytes::from_static(b"batch of bob"))
                } else {
                    Rewrite::Keep
                }
            })
            .unwrap();
        assert_eq!(
            report,
            RewriteReport {
                kept: 1,
                replaced: 1,
                dropped: 1
            }
        );
        assert!(
            !file_holds(&path, b"ann@example.com"),
            "the address is still in the file"
        );
        // The dropped message was in flight: its acknowledgement is harmless.
        store.done(dropped_in_flight).unwrap();
        // The replaced one keeps its id (in flight too) and attempt.
        store.reset_in_flight();
        let (id, attempt, message) = due(&mut store, 100).unwrap();
        assert_eq!(
            (id, attempt, &message[..]),
            (replaced, 2, &b"batch of bob"[..])
        );
        drop(store);
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(
            due(&mut store, 100).unwrap(),
            (replaced, 2, Bytes::from_static(b"batch of bob"))
        );
        assert_eq!(
            due(&mut store, 100).unwrap(),
            (untouched, 4, Bytes::from_static(b"only bob"))
        );
        let fresh = store.put(b"new", 5, 0).unwrap();
        assert!(fresh > untouched, "ids are not reused after a rewrite");
    }

    #[test]
    fn torn_tail_is_cut_and_mid_file_damage_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.deferred");
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        store.put(b"first", 1, 0).unwrap();
        store.put(b"second", 2, 0).unwrap();
        drop(store);
        let good = std::fs::read(&path).unwrap();

        let mut torn = good.clone();
        torn.extend_from_slice(&[KIND_PUT, 200, 0, 0]);
        std::fs::write(&path, &torn).unwrap();
        let mut store = DeferredStore::open(&path, MAX).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good.len() as u64);
        store.put(b"third", 3, 0).unwrap();
        drop(store);
        assert_eq!(DeferredStore::open(&path, MAX).unwrap().len(), 3);

        let mut damaged = std::fs::read(&path).unwrap();
        damaged[RECORD_HEADER + PUT_FIXED] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        assert!(matches!(
            DeferredStore::open(&path, MAX),
            Err(HoseError::Corrupt { offset: 0, .. })
        ));
    }
}
