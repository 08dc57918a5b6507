//! The hose's error type.

use std::path::PathBuf;

/// Everything that can go wrong in a hose. `Backlogged` maps to HTTP 429 upstream, `DiskFull` and `Closed` to 503.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum HoseError {
    /// An operating-system I/O error.
    #[error("hose I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data failed validation somewhere other than a torn tail.
    #[error("corrupt hose data in {} at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset inside that file.
        offset: u64,
        /// What failed.
        reason: String,
        /// The error that found the damage, where one did: a record's failed check (an
        /// [`embedded::FrameError`](crate::embedded::FrameError)), say.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A subscriber lags too far behind; publishing resumes when it catches up.
    #[error("subscriber `{subscriber}` is {lag_bytes} bytes behind the end of the hose, over the allowed lag; publishing is paused until it catches up")]
    Backlogged {
        /// The lagging subscriber.
        subscriber: String,
        /// How far behind it is.
        lag_bytes: u64,
    },
    /// Free disk space is below the configured minimum.
    #[error("only {available_bytes} bytes of disk space are free, below the configured minimum; publishing is paused")]
    DiskFull {
        /// Free bytes seen on the hose's file system.
        available_bytes: u64,
    },
    /// The hose has been closed.
    #[error("the hose is closed")]
    Closed,
    /// The subscriber already has an open subscription.
    #[error("subscriber `{0}` already has an open subscription")]
    AlreadySubscribed(String),
    /// No subscriber of that name is registered.
    #[error("no subscriber named `{0}` is registered")]
    UnknownSubscriber(String),
    /// A subscriber name outside `[a-z0-9_-]{1,64}`.
    #[error("invalid subscriber name `{0}`: use 1 to 64 characters of a-z, 0-9, `_` and `-`")]
    InvalidName(String),
    /// A batch or message exceeds the maximum record size.
    #[error("record of {bytes} bytes exceeds the maximum of {max_bytes} bytes")]
    TooLarge {
        /// Size of the offending record (uncompressed, with framing).
        bytes: u64,
        /// The configured maximum.
        max_bytes: u64,
    },
    /// An ack for a delivery this subscription does not hold.
    #[error("unknown delivery tag {0}")]
    UnknownDelivery(String),
    /// Another process (or hose instance) holds the directory's lock.
    #[error("hose directory {} is locked by another process", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The log writer failed earlier (e.g. an fsync error); reopen the hose to recover.
    #[error("the hose writer has failed and accepts no more appends: {reason}")]
    WriterFailed {
        /// Why (the source's message included).
        reason: String,
        /// The writer's error, where there is one (an
        /// [`embedded::WriterError`](crate::embedded::WriterError)); none when the writer
        /// thread is gone.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The configuration is unusable.
    #[error("invalid hose configuration: {0}")]
    InvalidConfig(String),
    /// A remote backend (e.g. a message broker) is unreachable or refused the operation.
    #[error("hose backend unavailable: {0}")]
    Unavailable(String),
}

impl HoseError {
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Self::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
            source: None,
        }
    }

    /// `Corrupt`, found by `source`: `reason` says what failed (its message included).
    pub(crate) fn corrupt_by(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    /// `WriterFailed` with nothing underneath but `reason`.
    pub(crate) fn writer_failed(reason: impl Into<String>) -> Self {
        Self::WriterFailed {
            reason: reason.into(),
            source: None,
        }
    }

    /// Whether publishing may succeed later without intervention (backpressure rather than failure).
    pub fn is_backpressure(&self) -> bool {
        matches!(self, Self::Backlogged { .. } | Self::DiskFull { .. })
    }
}

/// Turns a panicked or cancelled blocking task into an I/O error.
pub(crate) fn join_error(err: tokio::task::JoinError) -> HoseError {
    HoseError::Io(std::io::Error::other(format!(
        "blocking hose task failed: {err}"
    )))
}
