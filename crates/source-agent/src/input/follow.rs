//! Following a log file like `tail -F`, by polling.
//!
//! [`Follower::poll`] reads everything new in the file and hands out whole lines, each with
//! the position where it starts and ends ([`FilePos`]: the file's identity and an offset). A
//! last line without its newline waits for it. At the end of the data it looks at the path:
//!
//! - **rotation**: the path names another file (device or inode changed). The old file is
//!   read to its end once more (the writer may have added lines before it reopened), a last
//!   line without a newline is taken as it is (nobody writes to the old file any more), and
//!   the new file is read from its start;
//! - **truncation** (`copytruncate`): the file is shorter than what was read, or its first
//!   line is no longer the one it had (truncated and written past the old length between two
//!   polls). It is read again from its start;
//! - the path is missing (between a rename and the new file's creation): the old file is
//!   kept, and the path looked at again on the next poll.
//!
//! A saved position resumes where it says: in the file at the path if it is the same file
//! (inode and head hash) and long enough, else in the rotated file found beside it (read to
//! its end first, then the path from the start), else at the start of the path's file.
//!
//! **Why polling.** Change notification (inotify, kqueue, FSEvents) differs by platform,
//! misses changes on network and some container file systems, and still needs the same
//! rotation and truncation checks on every wake-up. A poll every quarter of a second costs one
//! `read` and one `stat` of a file already in the page cache and adds at most that much
//! latency to an event pipeline that batches for a second anyway.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::lines::{Piece, Splitter};
use super::{Item, Line};
use crate::position::{find_rotated, head_hash, identify, inode_of, FileId, FilePos, HEAD_LEN};

/// The size of one read.
const CHUNK: usize = 64 * 1024;

/// What one poll found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polled {
    /// It read something, or moved to another file: poll again at once.
    Progress,
    /// Nothing new: wait before polling again.
    Waiting,
}

/// The file being read.
#[derive(Debug)]
struct Current {
    file: File,
    path: PathBuf,
    id: FileId,
    /// Where the next line starts.
    line_start: u64,
    /// Bytes read from the file so far (at most a partial line past `line_start`).
    read_to: u64,
    /// The file's first bytes, until its head hash is known.
    head: Vec<u8>,
    /// A rotated file found at startup: read it to its end, then go on with the path.
    draining: bool,
}

/// Follows one log file.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    splitter: Splitter,
    current: Option<Current>,
    resume: Option<FilePos>,
    buffer: Vec<u8>,
}

impl Follower {
    /// Follows `path` from `resume` (a saved position) or from the start of the file, with
    /// lines of up to `max_line_len` bytes.
    pub fn new(path: impl Into<PathBuf>, resume: Option<FilePos>, max_line_len: usize) -> Follower {
        Follower {
            path: path.into(),
            splitter: Splitter::new(max_line_len),
            current: None,
            resume,
            buffer: vec![0; CHUNK],
        }
    }

    /// The position after the last line handed out (where a reader would go on).
    pub fn position(&self) -> Option<FilePos> {
        self.current.as_ref().map(|c| FilePos {
            file: c.id,
            offset: c.line_start,
        })
    }

    /// Reads what is new, handing each line to `emit`.
    pub fn poll(&mut self, emit: &mut impl FnMut(Item)) -> io::Result<Polled> {
        if self.current.is_none() && !self.open_first()? {
            return Ok(Polled::Waiting);
        }
        let read_any = self.read_to_end(emit)?;
        let Some(current) = &self.current else {
            return Ok(Polled::Waiting);
        };
        if current.draining {
            self.end_of_old_file(emit);
            self.open_path()?;
            return Ok(Polled::Progress);
        }
        match inode_of(&self.path) {
            Ok((dev, ino)) if dev != current.id.dev || ino != current.id.ino => {
                tracing::info!(path = %self.path.display(), "log rotated; reading the new file");
                self.read_to_end(emit)?;
                self.end_of_old_file(emit);
                self.open_path()?;
                return Ok(Polled::Progress);
            }
            Ok(_) => {
                let shorter = current.file.metadata()?.len() < current.read_to;
                // Truncated and written past the old length between two polls: the head
                // tells (looked at only when idle, one small read per poll).
                let rewritten = !read_any
                    && current.id.head.is_some()
                    && identify(&current.file)?.head != current.id.head;
                if shorter || rewritten {
                    tracing::info!(path = %self.path.display(), "log truncated; reading it again from the start");
                    self.restart_current()?;
                    return Ok(Polled::Progress);
                }
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(if read_any {
            Polled::Progress
        } else {
            Polled::Waiting
        })
    }

    /// Opens the file the first time, at the saved position if there is one. `false` when
    /// the file does not exist yet.
    fn open_first(&mut self) -> io::Result<bool> {
        let Some(saved) = self.resume.take() else {
            return self.open_path();
        };
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.resume = Some(saved);
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        let id = identify(&file)?;
        if id.same_inode(&saved.file) {
            let same_head = saved.file.head.is_none() || saved.file.head == id.head;
            if same_head && file.metadata()?.len() >= saved.offset {
                self.start(file, self.path.clone(), id, saved.offset, false)?;
                return Ok(true);
            }
            tracing::warn!(path = %self.path.display(), "the saved position is past the end of the log, or the file was replaced; reading from the start");
            return self.open_path();
        }
        if let Some(rotated) = find_rotated(&self.path, &saved.file) {
            tracing::info!(path = %rotated.display(), "resuming in the rotated log");
            let old = File::open(&rotated)?;
            let old_id = identify(&old)?;
            self.start(old, rotated, old_id, saved.offset, true)?;
            return Ok(true);
        }
        tracing::warn!(path = %self.path.display(), "the file of the saved position is gone (rotated away or compressed); reading the current log from the start, lines in between are missed");
        self.open_path()
    }

    /// Opens the path from its start. `false` when it does not exist.
    fn open_path(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.current = None;
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        let id = identify(&file)?;
        self.start(file, self.path.clone(), id, 0, false)?;
        Ok(true)
    }

    fn start(
        &mut self,
        mut file: File,
        path: PathBuf,
        id: FileId,
        offset: u64,
        draining: bool,
    ) -> io::Result<()> {
        file.seek(SeekFrom::Start(offset))?;
        self.splitter.reset();
        self.current = Some(Current {
            file,
            path,
            id,
            line_start: offset,
            read_to: offset,
            head: Vec::new(),
            draining,
        });
        Ok(())
    }

    fn restart_current(&mut self) -> io::Result<()> {
        if let Some(current) = self.current.take() {
            let Current { file, path, id, .. } = current;
            let id = identify(&file).unwrap_or(id);
            self.start(file, path, id, 0, false)?;
        }
        Ok(())
    }

    /// The old file is done: its last line, even without a newline, is a line.
    fn end_of_old_file(&mut self, emit: &mut impl FnMut(Item)) {
        if let Some(current) = &mut self.current {
            let file = current.id;
            let line_start = &mut current.line_start;
            self.splitter
                .finish(&mut |piece| emit(to_item(piece, file, line_start)));
        }
    }

    /// Reads to the current end of the file. `true` when anything was read.
    fn read_to_end(&mut self, emit: &mut impl FnMut(Item)) -> io::Result<bool> {
        let Some(current) = &mut self.current else {
            return Ok(false);
        };
        let mut read_any = false;
        loop {
            let read = match current.file.read(&mut self.buffer) {
                Ok(0) => return Ok(read_any),
                Ok(read) => read,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            read_any = true;
            let data = &self.buffer[..read];
            if current.id.head.is_none() && current.read_to < HEAD_LEN as u64 {
                let wanted = HEAD_LEN.saturating_sub(current.head.len()).min(data.len());
                current.head.extend_from_slice(&data[..wanted]);
                current.id.head = head_hash(&current.head);
            }
            current.read_to += u64::try_from(read).unwrap_or(u64::MAX);
            let file = current.id;
            let line_start = &mut current.line_start;
            self.splitter
                .feed(data, &mut |piece| emit(to_item(piece, file, line_start)));
        }
    }

    /// The file being read now (its path may be a rotated name).
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.path.as_path())
    }
}

fn to_item(piece: Piece<'_>, file: FileId, line_start: &mut u64) -> Item {
    let start = FilePos {
        file,
        offset: *line_start,
    };
    let len = match &piece {
        Piece::Line { len, .. } | Piece::Oversized { len } => *len,
    };
    *line_start += len;
    let end = FilePos {
        file,
        offset: *line_start,
    };
    match piece {
        Piece::Line { text, .. } => Item::Line(Line {
            text: text.to_vec(),
            start: Some(start),
            end: Some(end),
            peer: None,
        }),
        Piece::Oversized { .. } => Item::Oversized { end: Some(end) },
    }
}

/// How a followed file is read.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// The log file.
    pub path: PathBuf,
    /// Where to resume (a saved position), or `None` for the start of the file.
    pub resume: Option<FilePos>,
    /// How long to wait when there is nothing new.
    pub poll_interval: Duration,
    /// Longer lines are skipped and counted.
    pub max_line_len: usize,
    /// Read to the end of the file once, then [`Item::End`] (a backfill).
    pub once: bool,
}

/// Follows a file in a new thread, sending its lines to `tx`, until the receiver is gone
/// (or, with `once`, the end of the file). An I/O error is sent as [`Item::Failed`], and so
/// is a missing file with `once` (without it, the file is waited for, as `tail -F` does).
pub fn spawn_follower(config: FollowConfig, tx: mpsc::Sender<Item>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut follower = Follower::new(&config.path, config.resume, config.max_line_len);
        let mut items = Vec::new();
        loop {
            let polled = match follower.poll(&mut |item| items.push(item)) {
                Ok(polled) => polled,
                Err(error) => {
                    let _ = tx.blocking_send(Item::Failed(error));
                    return;
                }
            };
            for item in items.drain(..) {
                if tx.blocking_send(item).is_err() {
                    return;
                }
            }
            if polled == Polled::Waiting {
                if config.once && follower.current_path().is_none() {
                    let missing = io::Error::new(
                        ErrorKind::NotFound,
                        format!("{} does not exist", config.path.display()),
                    );
                    let _ = tx.blocking_send(Item::Failed(missing));
                    return;
                }
                let last = if config.once {
                    Item::End
                } else {
                    Item::CaughtUp
                };
                if tx.blocking_send(last).is_err() || config.once {
                    return;
                }
                std::thread::sleep(config.poll_interval);
                if tx.is_closed() {
                    return;
                }
            }
        }
    })
}
