//! The error every analytic store returns, metrics and message events alike.

/// A failure of the analytic store.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The engine failed.
    #[error("analytic store: {0}")]
    Engine(String),
    /// The data directory could not be prepared.
    #[error("analytic store: {0}")]
    Io(#[from] std::io::Error),
    /// The query cannot be answered as asked.
    #[error("{0}")]
    Invalid(String),
}
