//! Why a send run stopped.

use thiserror::Error;

use super::report::SendReport;

/// A send run that did not complete.
#[derive(Debug, Error)]
pub enum SendError {
    /// The settings are unusable.
    #[error("invalid send configuration: {0}")]
    InvalidConfig(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The server refused a batch with a 4xx other than 429; the run stopped.
    #[error("the server rejected a batch with HTTP {status}: {body}")]
    Rejected {
        /// HTTP status of the first refusal.
        status: u16,
        /// Response body of the first refusal.
        body: String,
        /// What happened up to the stop.
        report: Box<SendReport>,
    },
    /// The server could not be reached within the allowed tries; the run stopped.
    #[error("could not reach {url}: {source}")]
    Unreachable {
        /// The ingest URL.
        url: String,
        /// The last transport error.
        #[source]
        source: reqwest::Error,
        /// What happened up to the stop.
        report: Box<SendReport>,
    },
    /// A batch could not be compressed.
    #[error("could not compress a batch: {0}")]
    Compression(#[source] std::io::Error),
    /// A worker thread or task failed.
    #[error("send worker failed: {0}")]
    Worker(String),
}

impl SendError {
    /// The partial report of a run that stopped after it started sending.
    pub fn report(&self) -> Option<&SendReport> {
        match self {
            SendError::Rejected { report, .. } | SendError::Unreachable { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }
}
