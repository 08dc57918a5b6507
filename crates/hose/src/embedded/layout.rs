//! Where the embedded hose keeps its files, and small durable-file helpers.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::HoseError;

const SEGMENT_SUFFIX: &str = ".log";
const CURSOR_SUFFIX: &str = ".cursor";
const DEFERRED_SUFFIX: &str = ".deferred";
const TEMP_SUFFIX: &str = ".tmp";

/// Paths of one hose directory.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join("LOCK")
    }

    pub(crate) fn segments_dir(&self) -> PathBuf {
        self.root.join("segments")
    }

    /// `dead/<subscriber>/`: dead letters (`dead_letters.rs`).
    pub(crate) fn dead_letters_dir(&self) -> PathBuf {
        self.root.join("dead")
    }

    pub(crate) fn subscribers_dir(&self) -> PathBuf {
        self.root.join("subscribers")
    }

    /// `segments/<start offset, 20 digits>.log`
    pub(crate) fn segment(&self, start: u64) -> PathBuf {
        self.segments_dir()
            .join(format!("{start:020}{SEGMENT_SUFFIX}"))
    }

    pub(crate) fn cursor(&self, subscriber: &str) -> PathBuf {
        self.subscribers_dir()
            .join(format!("{subscriber}{CURSOR_SUFFIX}"))
    }

    pub(crate) fn deferred(&self, subscriber: &str) -> PathBuf {
        self.subscribers_dir()
            .join(format!("{subscriber}{DEFERRED_SUFFIX}"))
    }

    /// Creates the directory tree if missing.
    pub(crate) fn create_dirs(&self) -> io::Result<()> {
        fs::create_dir_all(self.segments_dir())?;
        fs::create_dir_all(self.subscribers_dir())?;
        sync_dir(&self.root)
    }

    /// Start offsets of the segment files present, ascending.
    pub(crate) fn list_segments(&self) -> io::Result<Vec<u64>> {
        let mut starts = Vec::new();
        for entry in fs::read_dir(self.segments_dir())? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(start) = name
                .strip_suffix(SEGMENT_SUFFIX)
                .and_then(|digits| digits.parse().ok())
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        Ok(starts)
    }

    /// Names of the subscribers that have a cursor file, after removing leftover temporary files.
    pub(crate) fn list_subscribers(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.subscribers_dir())? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(TEMP_SUFFIX) {
                fs::remove_file(entry.path())?;
            } else if let Some(subscriber) = name.strip_suffix(CURSOR_SUFFIX) {
                names.push(subscriber.to_owned());
            }
        }
        names.sort_unstable();
        Ok(names)
    }
}

/// Takes the directory's exclusive lock, held for as long as the returned file stays open.
pub(crate) fn acquire_lock(layout: &Layout) -> Result<File, HoseError> {
    let path = layout.lock_file();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    if !file.try_lock_exclusive()? {
        return Err(HoseError::Locked { path });
    }
    Ok(file)
}

/// Makes entries created, renamed or removed in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` atomically with `contents`: write a temporary file, fsync it, rename it over `path`.
/// With `sync_parent` the rename itself is made durable too; without it a crash may leave the previous
/// version, which callers must accept.
pub(crate) fn write_atomically(path: &Path, contents: &[u8], sync_parent: bool) -> io::Result<()> {
    let temp = temp_path(path);
    {
        let mut file = File::create(&temp)?;
        io::Write::write_all(&mut file, contents)?;
        file.sync_data()?;
    }
    fs::rename(&temp, path)?;
    if sync_parent {
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Where a new version of `path` is written before it is renamed over it; a leftover one is
/// removed when the hose opens.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut temp = path.as_os_str().to_owned();
    temp.push(TEMP_SUFFIX);
    PathBuf::from(temp)
}

/// Removes `path`, treating an already missing file as success.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
