//! The durable position in a followed log file, and what it guarantees.
//!
//! **What is saved.** A small JSON file: the identity of the log file (device and inode, and
//! a hash of its first line, so that a new file that happens to reuse the inode of a deleted
//! one is not taken for it) and a byte offset, always the start of a line. It is written to a
//! temporary file beside it, synced, renamed over the old one and the directory synced: after
//! a crash it holds either the old position or the new one, whole. For PowerMTA it also
//! holds the column names of the header in force at that offset (the last header line read
//! before it, perhaps in the file before a rotation): a restart resumes past the header
//! line, and the source takes the saved header back before its first line.
//!
//! **Which position is saved.** The runner saves the start of the oldest line that is still
//! needed, where a line is needed while
//!
//! 1. an event it gave (or helped give) has not been acknowledged by the server (a 200, or a
//!    400 naming that event's line, after which the event is dropped and counted), or
//! 2. the Postfix correlator's state still depends on it: a queue entry still open was opened
//!    by it ([`eventhose_sources::postfix::PostfixSource::oldest_needed_line`]). PowerMTA's
//!    records depend on no other line but the header, which is saved instead.
//!
//! An event is tagged, when it is emitted, with the oldest line needed just before: the line
//! being read, or an older one whose entry contributed to the event (the `client=` line
//! behind an injection decided at the first delivery line). So the saved position never
//! passes a line whose event is unacknowledged, and never passes the opening line of a
//! message still in the correlator.
//!
//! **The guarantee.** After a crash (or kill, or power loss) the agent re-reads from the
//! saved position. The re-read rebuilds every open queue entry and emits again the events of
//! the lines after it: lines are not skipped, and every event is delivered at least once.
//! Events re-emitted that the server had already accepted carry the same `event_id` (ids are
//! derived from the log lines, see `eventhose_sources::postfix::events`), and the server's
//! subscribers drop an `event_id` they already applied (within their deduplication window,
//! a day by default): the repeats are absorbed there, not here. A repeat is not always the
//! same text: a line re-read after its queue entry had closed (its events were acknowledged,
//! so it no longer held the position) gives its event without what the entry knew (sender,
//! size, the original `message_id`), under the same id; the server keeps the first copy. No
//! re-read gives an id the whole log would not. A retried request also carries the same
//! `Idempotency-Key` (a hash of its body), so the server answers it once.
//!
//! **Bounds.** The replay is at most the correlator's entry timeout of log time (3 hours by
//! default) plus the unacknowledged events: a queue entry open longer than that (a message
//! deferred for days) stops holding the position back. Its later events are still sent after
//! a restart, with their own stable ids, but those that need its early lines (an injection
//! decided after the restart, the original arrival time) are missing or estimated for it.
//! Rotation is followed across a restart when the rotated file still sits beside the log
//! under a name starting with the log's name or stem (`mail.log.1`, `mail.log-20261207`,
//! `acct-2026-12-07-1200.csv` beside `acct.csv`), not compressed; otherwise (a PowerMTA
//! file moved to another directory by `move-to`, a compressed log) the agent says so and
//! starts the current file from its beginning. PowerMTA's records hold no position back:
//! the replay is the records whose events were not acknowledged, and, after a crash between
//! an acknowledgement and the save that follows it, that request's records again (same
//! ids).
//! Standard input and syslog listeners keep no position: what is in memory at a crash is
//! lost (UDP senders never retry anyway).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many bytes of a file's start its head hash covers at most.
pub const HEAD_LEN: usize = 256;

/// Which file: device, inode and the hash of its head (see [`head_hash`]), once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// The device number.
    pub dev: u64,
    /// The inode number.
    pub ino: u64,
    /// The hash of the file's head; `None` until its first line (or [`HEAD_LEN`] bytes) is
    /// there.
    pub head: Option<u64>,
}

impl FileId {
    /// The same file on disk (device and inode; the head is checked separately).
    pub fn same_inode(&self, other: &FileId) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// A place in a file: the start of a line, or the end of the last line read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePos {
    /// Which file.
    pub file: FileId,
    /// The byte offset.
    pub offset: u64,
}

/// The hash that tells a file from another that reuses its inode: xxh3 of the bytes up to
/// and including the first newline, or of the first [`HEAD_LEN`] bytes when there is no
/// newline among them. `None` while the file holds less than that.
pub fn head_hash(start: &[u8]) -> Option<u64> {
    let window = &start[..start.len().min(HEAD_LEN)];
    match memchr::memchr(b'\n', window) {
        Some(newline) => Some(xxhash_rust::xxh3::xxh3_64(&window[..=newline])),
        None if window.len() == HEAD_LEN => Some(xxhash_rust::xxh3::xxh3_64(window)),
        None => None,
    }
}

/// The identity of an open file, its head read from the file itself.
pub fn identify(file: &File) -> io::Result<FileId> {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let metadata = file.metadata()?;
    let mut start = [0_u8; HEAD_LEN];
    let mut filled = 0;
    while filled < HEAD_LEN {
        let read = file.read_at(&mut start[filled..], u64::try_from(filled).unwrap_or(0))?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(FileId {
        dev: metadata.dev(),
        ino: metadata.ino(),
        head: head_hash(&start[..filled]),
    })
}

/// The device and inode of the file at `path`, without opening it.
pub fn inode_of(path: &Path) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    position: FilePos,
    /// The PowerMTA header in force at `position` (absent for Postfix, and in files written
    /// before it was kept: both read as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<Vec<String>>,
}

/// The file the position is kept in.
#[derive(Clone, Debug)]
pub struct PositionFile {
    path: PathBuf,
}

impl PositionFile {
    /// The position kept at `path`.
    pub fn new(path: impl Into<PathBuf>) -> PositionFile {
        PositionFile { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved position, `None` when nothing was saved yet.
    pub fn load(&self) -> io::Result<Option<FilePos>> {
        Ok(self.load_with_header()?.map(|(position, _)| position))
    }

    /// The saved position and the column names of the PowerMTA header in force there (see
    /// [`save_with_header`](Self::save_with_header)), `None` when nothing was saved yet.
    pub fn load_with_header(&self) -> io::Result<Option<(FilePos, Option<Vec<String>>)>> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let saved: Saved = serde_json::from_slice(&text)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        if saved.version != 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown position file version {}", saved.version),
            ));
        }
        Ok(Some((saved.position, saved.header)))
    }

    /// Saves `position` atomically and durably (temporary file, fsync, rename, fsync of the
    /// directory).
    pub fn save(&self, position: &FilePos) -> io::Result<()> {
        self.save_with_header(position, None)
    }

    /// Saves `position` with `header`, the column names of the PowerMTA header in force
    /// there (the last header line before it, which a restart does not read again), as
    /// [`save`](Self::save) does. Version 1 still: the header is an optional field that
    /// older readers ignore.
    pub fn save_with_header(
        &self,
        position: &FilePos,
        header: Option<&[String]>,
    ) -> io::Result<()> {
        let text = serde_json::to_vec(&Saved {
            version: 1,
            position: *position,
            header: header.map(<[String]>::to_vec),
        })
        .map_err(io::Error::other)?;
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &self.path)?;
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(directory)?.sync_all()
    }
}

/// Finds the file `id` among the files beside `log` whose names start with its name, or
/// with its stem when it has an extension (where rotation leaves it): `mail.log.1`,
/// `mail.log-20261207`, `acct-2026-12-07-1200.csv` beside `acct.csv`. The inode and the
/// head decide; the names only bound the search. Compressed files are not it (their inode
/// is new).
pub fn find_rotated(log: &Path, id: &FileId) -> Option<PathBuf> {
    let name = log.file_name()?.to_str()?.to_owned();
    let stem = log
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or(&name);
    let directory = match log.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut found = None;
    for entry in fs::read_dir(&directory).ok()?.flatten() {
        let file_name = entry.file_name();
        let Some(candidate) = file_name.to_str() else {
            continue;
        };
        if candidate == name || !candidate.starts_with(stem) {
            continue;
        }
        let path = entry.path();
        if inode_of(&path).is_ok_and(|(dev, ino)| dev == id.dev && ino == id.ino) {
            found = Some(path);
            break;
        }
    }
    let path = found?;
    let file = File::open(&path).ok()?;
    let actual = identify(&file).ok()?;
    (id.head.is_none() || actual.head == id.head).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let file = PositionFile::new(dir.path().join("pos.json"));
        assert_eq!(file.load().unwrap(), None);
        let position = FilePos {
            file: FileId {
                dev: 1,
                ino: 2,
                head: Some(3),
            },
            offset: 42,
        };
        file.save(&position).unwrap();
        assert_eq!(file.load().unwrap(), Some(position));
        let moved = FilePos {
            offset: 50,
            ..position
        };
        file.save(&moved).unwrap();
        assert_eq!(file.load().unwrap(), Some(moved));
        assert!(!dir.path().join("pos.json.tmp").exists());

        let header = ["type".to_owned(), "rcpt".to_owned()];
        file.save_with_header(&moved, Some(&header)).unwrap();
        assert_eq!(
            file.load_with_header().unwrap(),
            Some((moved, Some(header.to_vec())))
        );
        assert_eq!(file.load().unwrap(), Some(moved));
        file.save(&position).unwrap();
        assert_eq!(file.load_with_header().unwrap(), Some((position, None)));
        let text = fs::read_to_string(dir.path().join("pos.json")).unwrap();
        assert!(!text.contains("header"), "{text}");
    }

    #[test]
    fn the_head_is_the_first_line_or_a_window() {
        assert_eq!(
            head_hash(b"abc"),
            None,
            "not known before the first newline"
        );
        assert_eq!(head_hash(b"abc\nxyz"), head_hash(b"abc\nother"));
        assert_ne!(head_hash(b"abc\n"), head_hash(b"abd\n"));
        assert!(head_hash(&[b'x'; HEAD_LEN]).is_some());
    }

    #[test]
    fn finds_a_rotated_file_by_inode_and_head() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.log");
        fs::write(&log, "first\nsecond\n").unwrap();
        let id = identify(&File::open(&log).unwrap()).unwrap();
        fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
        fs::write(&log, "new\n").unwrap();
        assert_eq!(find_rotated(&log, &id), Some(dir.path().join("mail.log.1")));
        let other = FileId {
            ino: id.ino + 1_000_000,
            ..id
        };
        assert_eq!(find_rotated(&log, &other), None);
    }

    #[test]
    fn finds_a_moved_file_named_after_the_stem() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("acct.csv");
        fs::write(&log, "type,rcpt\nd,x@example.com\n").unwrap();
        let id = identify(&File::open(&log).unwrap()).unwrap();
        let moved = dir.path().join("acct-2026-12-07-1200.csv");
        fs::rename(&log, &moved).unwrap();
        fs::write(&log, "type,rcpt\n").unwrap();
        assert_eq!(find_rotated(&log, &id), Some(moved));
    }
}
