//! The error every analytic store returns, metrics and message events alike.

use std::fmt;

/// A failure of the analytic store.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The engine, or the files the store keeps beside it, failed. `source` is that failure's
    /// own error, kept as it came (a `duckdb::Error`, an `io::Error`, …), so that
    /// [`std::error::Error::source`] and downcasting reach it.
    #[error("analytic store: {}{source}", ContextPrefix(.context))]
    Engine {
        /// What the store was doing, where that says more than the engine's message (e.g.
        /// `stored events of events_20250101`).
        context: Option<String>,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The store failed with no error underneath to keep: a panic (a lock it poisoned, a worker
    /// thread), or state or data that is not what this build expects.
    #[error("analytic store: {0}")]
    Internal(String),
    /// The data directory could not be prepared.
    #[error("analytic store: {0}")]
    Io(#[from] std::io::Error),
    /// The query cannot be answered as asked.
    #[error("{0}")]
    Invalid(String),
}

impl AnalyticsError {
    /// An [`AnalyticsError::Engine`] that keeps the engine's error `source`.
    pub fn engine(source: impl std::error::Error + Send + Sync + 'static) -> AnalyticsError {
        AnalyticsError::Engine {
            context: None,
            source: Box::new(source),
        }
    }

    /// An [`AnalyticsError::Engine`] that keeps the engine's error `source`, met while doing
    /// `context`.
    pub fn engine_in(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AnalyticsError {
        AnalyticsError::Engine {
            context: Some(context.into()),
            source: Box::new(source),
        }
    }
}

/// `"{context}: "` in front of the engine's message, or nothing without a context.
struct ContextPrefix<'a>(&'a Option<String>);

impl fmt::Display for ContextPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(context) => write!(f, "{context}: "),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::*;

    #[test]
    fn an_engine_error_keeps_its_source_and_says_what_it_was() {
        let error = AnalyticsError::engine_in(
            "stored events of events_20250101",
            io::Error::new(io::ErrorKind::StorageFull, "no space left"),
        );
        assert_eq!(
            error.to_string(),
            "analytic store: stored events of events_20250101: no space left"
        );
        let source = error.source().expect("the engine's error is the source");
        let io = source
            .downcast_ref::<io::Error>()
            .expect("the source is the io::Error itself");
        assert_eq!(io.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn an_engine_error_without_context_shows_the_engine_message() {
        let error = AnalyticsError::engine(io::Error::other("injected commit failure"));
        assert_eq!(error.to_string(), "analytic store: injected commit failure");
        assert!(error.source().is_some());
    }

    #[test]
    fn errors_with_nothing_underneath_have_no_source() {
        let error = AnalyticsError::Internal("a store lock was poisoned by a panic".into());
        assert_eq!(
            error.to_string(),
            "analytic store: a store lock was poisoned by a panic"
        );
        assert!(error.source().is_none());
        assert!(AnalyticsError::Invalid("bad".into()).source().is_none());
    }
}
