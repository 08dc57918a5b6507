//! The embedded hose's dead letters: one file per dead letter, `dead/<subscriber>/<id>.dead`.
//! Dead letters are rare and each is inspected by hand, so a file apiece keeps them simple to
//! write durably, to list and to remove, and leaves them readable without the hose.
//!
//! File format (integers little-endian):
//!
//! ```text
//! 0      b"EHD1"
//! 4      u64  when it was set aside, Unix milliseconds
//! 12     u32  attempt
//! 16     u32  reason length R, then R bytes of UTF-8
//! 20+R   u32  message length M, then M bytes
//! 24+R+M u32  CRC32 of everything before
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::embedded::layout::{remove_if_exists, sync_dir, write_atomically};
use crate::{dead_letter_id, is_dead_letter_id, DeadLetter, DeadLetterPage, HoseError, Rejected};

const MAGIC: &[u8; 4] = b"EHD1";
const SUFFIX: &str = ".dead";

/// The dead letters of every subscriber of one hose directory.
#[derive(Clone, Debug)]
pub(crate) struct DeadLetterFiles {
    dir: PathBuf,
}

impl DeadLetterFiles {
    /// Dead letters kept under `dir` (created on first use).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn subscriber_dir(&self, subscriber: &str) -> PathBuf {
        self.dir.join(subscriber)
    }

    /// The file of dead letter `id`; `None` for a malformed id (so no id names another file).
    fn path(&self, subscriber: &str, id: &str) -> Option<PathBuf> {
        is_dead_letter_id(id).then(|| {
            self.subscriber_dir(subscriber)
                .join(format!("{id}{SUFFIX}"))
        })
    }

    /// Durably sets `rejected` aside for `subscriber`, taken at `now_ms`; returns its id. The
    /// same message again replaces its earlier copy.
    pub(crate) fn put(
        &self,
        subscriber: &str,
        rejected: &Rejected,
        now_ms: u64,
    ) -> Result<String, HoseError> {
        let id = dead_letter_id([&rejected.message[..]]);
        let dir = self.subscriber_dir(subscriber);
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            sync_dir(&self.dir)?;
            if let Some(root) = self.dir.parent() {
                sync_dir(root)?;
            }
        }
        let path = dir.join(format!("{id}{SUFFIX}"));
        write_atomically(&path, &encode(rejected, now_ms), true)?;
        Ok(id)
    }

    /// The dead letter `id` of `subscriber`, if it has one.
    pub(crate) fn get(&self, subscriber: &str, id: &str) -> Result<Option<DeadLetter>, HoseError> {
        let Some(path) = self.path(subscriber, id) else {
            return Ok(None);
        };
        match fs::read(&path) {
            Ok(bytes) => decode(&path, id, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes dead letter `id` of `subscriber`; `false` if there was none.
    pub(crate) fn remove(&self, subscriber: &str, id: &str) -> Result<bool, HoseError> {
        let Some(path) = self.path(subscriber, id) else {
            return Ok(false);
        };
        if !path.exists() {
            return Ok(false);
        }
        remove_if_exists(&path)?;
        sync_dir(&self.subscriber_dir(subscriber))?;
        Ok(true)
    }

    /// Removes every dead letter of `subscriber` (it is unregistered).
    pub(crate) fn remove_all(&self, subscriber: &str) -> Result<(), HoseError> {
        match fs::remove_dir_all(self.subscriber_dir(subscriber)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The oldest `limit` dead letters of `subscriber`, and how many it has.
    pub(crate) fn list(&self, subscriber: &str, limit: usize) -> Result<DeadLetterPage, HoseError> {
        let entries = match fs::read_dir(self.subscriber_dir(subscriber)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DeadLetterPage::default()),
            Err(e) => return Err(e.into()),
        };
        let mut letters = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let Some(id) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(SUFFIX))
                .filter(|id| is_dead_letter_id(id))
            else {
                continue; // a temporary file of an interrupted write
            };
            letters.push(decode(&path, id, &fs::read(&path)?)?);
        }
        letters.sort_by(|a, b| (a.dead_at_ms, &a.id).cmp(&(b.dead_at_ms, &b.id)));
        let total = letters.len() as u64;
        letters.truncate(limit);
        Ok(DeadLetterPage { letters, total })
    }
}

fn encode(rejected: &Rejected, now_ms: u64) -> Vec<u8> {
    let reason = rejected.reason.as_bytes();
    let message = &rejected.message[..];
    let mut bytes = Vec::with_capacity(28 + reason.len() + message.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&now_ms.to_le_bytes());
    bytes.extend_from_slice(&rejected.attempt.to_le_bytes());
    for part in [reason, message] {
        // Both are bounded far below 4 GiB: a message by the hose's record limit, a reason by
        // the subscriber that writes it.
        bytes.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
        bytes.extend_from_slice(part);
    }
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

fn decode(path: &Path, id: &str, bytes: &[u8]) -> Result<DeadLetter, HoseError> {
    let corrupt = |reason: &str| HoseError::corrupt(path, 0, reason);
    let (body, crc) = bytes
        .split_last_chunk::<4>()
        .ok_or_else(|| corrupt("truncated dead letter"))?;
    if !body.starts_with(MAGIC) || crc32fast::hash(body) != u32::from_le_bytes(*crc) {
        return Err(corrupt("not a dead letter, or damaged"));
    }
    let mut reader = Reader {
        body,
        at: MAGIC.len(),
    };
    let dead_at_ms = u64::from_le_bytes(reader.array().ok_or_else(|| corrupt("truncated"))?);
    let attempt = u32::from_le_bytes(reader.array().ok_or_else(|| corrupt("truncated"))?);
    let reason = reader.part().ok_or_else(|| corrupt("truncated reason"))?;
    let message = reader.part().ok_or_else(|| corrupt("truncated message"))?;
    if reader.at != body.len() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(DeadLetter {
        id: id.to_owned(),
        reason: String::from_utf8_lossy(reason).into_owned(),
        dead_at_ms: Some(dead_at_ms),
        attempt,
        messages: vec![bytes::Bytes::copy_from_slice(message)],
    })
}

/// Reads the fields of a dead-letter file in order.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let part = self.body.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(part)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn part(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.array()?);
        self.take(usize::try_from(len).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(message: &'static [u8], reason: &str) -> Rejected {
        Rejected {
            message: bytes::Bytes::from_static(message),
            attempt: 3,
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn dead_letters_round_trip_oldest_first_and_once_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let files = DeadLetterFiles::new(dir.path().join("dead"));
        let late = files
            .put("metrics", &rejected(b"late", "b"), 2_000)
            .unwrap();
        let early = files
            .put("metrics", &rejected(b"early", "a"), 1_000)
            .unwrap();
        // The same message again (its delivery came again) is still one dead letter.
        assert_eq!(
            files
                .put("metrics", &rejected(b"late", "b"), 3_000)
                .unwrap(),
            late
        );

        let page = files.list("metrics", 10).unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.letters[0].id, early);
        assert_eq!(page.letters[0].reason, "a");
        assert_eq!(page.letters[0].attempt, 3);
        assert_eq!(
            page.letters[0].messages,
            vec![bytes::Bytes::from_static(b"early")]
        );
        assert_eq!(page.letters[1].dead_at_ms, Some(3_000));
        assert_eq!(files.list("metrics", 1).unwrap().letters.len(), 1);
        assert_eq!(
            files.list("webhooks", 10).unwrap(),
            DeadLetterPage::default()
        );

        assert_eq!(files.get("metrics", &early).unwrap().unwrap().reason, "a");
        assert!(files.remove("metrics", &early).unwrap());
        assert!(!files.remove("metrics", &early).unwrap());
        assert_eq!(files.get("metrics", &early).unwrap(), None);
        assert_eq!(files.list("metrics", 10).unwrap().total, 1);
    }

    #[test]
    fn malformed_ids_name_no_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.dead"), b"x").unwrap();
        let files = DeadLetterFiles::new(dir.path().join("dead"));
        files.put("metrics", &rejected(b"m", "r"), 1).unwrap();
        assert_eq!(files.get("metrics", "../../secret").unwrap(), None);
        assert!(!files.remove("metrics", "../../secret").unwrap());
        assert!(dir.path().join("secret.dead").exists());
    }

    #[test]
    fn a_damaged_file_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let files = DeadLetterFiles::new(dir.path().join("dead"));
        let id = files.put("metrics", &rejected(b"message", "r"), 1).unwrap();
        let path = dir.path().join("dead/metrics").join(format!("{id}.dead"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[25] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let error = files.list("metrics", 10).unwrap_err().to_string();
        assert!(error.contains(&id), "{error}");
    }
}
