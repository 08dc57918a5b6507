//! Read-only connections beside the writer: in WAL mode a reader sees the last committed state
//! and neither waits for the writer nor holds it up, so a long bulk write or a slow search
//! does not stall the key lookup every request makes.
//!
//! A handful of connections shared through a stack and a condition variable: r2d2 and its
//! SQLite manager would do the same with a background thread and more settings than this
//! needs.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StateError;

/// Read-only connections opened at most at once.
pub(crate) const MAX_READERS: usize = 4;

/// A bounded set of read-only connections to one database file.
pub(crate) struct Readers {
    path: PathBuf,
    slots: Mutex<Slots>,
    freed: Condvar,
}

#[derive(Default)]
struct Slots {
    idle: Vec<Connection>,
    open: usize,
}

impl Readers {
    /// Readers of the database at `path` (which must exist, in WAL mode); opened on demand.
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            slots: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    /// Runs `f` on an idle reader, opening one if fewer than [`MAX_READERS`] are open and
    /// waiting for one otherwise.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let conn = self.take()?;
        let result = f(&conn);
        self.give_back(conn);
        result
    }

    fn take(&self) -> Result<Connection, StateError> {
        let poisoned = || StateError::Task("state reader lock poisoned".into());
        let mut slots = self.slots.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(conn) = slots.idle.pop() {
                return Ok(conn);
            }
            if slots.open < MAX_READERS {
                slots.open += 1;
                drop(slots);
                return self.open_one().inspect_err(|_| self.forget_one());
            }
            slots = self.freed.wait(slots).map_err(|_| poisoned())?;
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

    fn forget_one(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.open -= 1;
        }
        self.freed.notify_one();
    }
}
