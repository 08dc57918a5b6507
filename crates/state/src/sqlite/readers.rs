//! Read-only connections beside the writer: in WAL mode a reader sees the last committed state
//! and neither waits for the writer nor holds it up, so a long bulk write or a slow search
//! does not stall the key lookup every request makes.
//!
//! A handful of connections shared through a stack and a condition variable: r2d2 and its
//! SQLite manager would do the same with a background thread and more settings than this
//! needs. Key lookups have readers of their own, so slow searches never hold them up.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StateError;

/// How long a read waits for a connection before it fails.
const WAIT_FOR_READER: Duration = Duration::from_secs(10);

/// A bounded set of read-only connections to one database file.
pub(crate) struct Readers {
    path: PathBuf,
    most: usize,
    slots: Mutex<Slots>,
    freed: Condvar,
}

#[derive(Default)]
struct Slots {
    idle: Vec<Connection>,
    open: usize,
}

impl Readers {
    /// At most `most` readers of the database at `path` (which must exist, in WAL mode),
    /// opened on demand.
    pub(crate) fn new(path: &Path, most: usize) -> Self {
        Self {
            path: path.to_path_buf(),
            most: most.max(1),
            slots: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    /// Runs `f` on an idle reader, opening one if fewer than the most are open and waiting
    /// (up to [`WAIT_FOR_READER`]) for one otherwise.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let lent = Lent {
            readers: self,
            conn: Some(self.take()?),
        };
        f(lent
            .conn
            .as_ref()
            .ok_or_else(|| StateError::Task("no reader".into()))?)
    }

    fn take(&self) -> Result<Connection, StateError> {
        let poisoned = || StateError::Task("state reader lock poisoned".into());
        let mut slots = self.slots.lock().map_err(|_| poisoned())?;
        let deadline = std::time::Instant::now() + WAIT_FOR_READER;
        loop {
            if let Some(conn) = slots.idle.pop() {
                return Ok(conn);
            }
            if slots.open < self.most {
                slots.open += 1;
                drop(slots);
                return self.open_one().inspect_err(|_| self.forget_one());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StateError::Task("every state reader is busy".into()));
            }
            slots = self
                .freed
                .wait_timeout(slots, left)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    fn open_one(&self) -> Result<Connection, StateError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.idle.push(conn);
        }
        self.freed.notify_one();
    }

    /// A reader that was lent and not given back (its user panicked): closed, its slot freed.
    fn forget_one(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.open -= 1;
        }
        self.freed.notify_one();
    }
}

/// A reader lent to one call: given back when the call ends, however it ends (a call that
/// panics must not keep its slot).
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(conn) if !std::thread::panicking() => self.readers.give_back(conn),
            _ => self.readers.forget_one(),
        }
    }
}
