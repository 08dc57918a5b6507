//! What can go wrong talking to ClickHouse.

/// A failure of the ClickHouse store, kept whole inside `AnalyticsError::Engine`.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The `analytics` URL cannot name a ClickHouse database.
    #[error("ClickHouse URL: {0}")]
    Endpoint(String),
    /// The server could not be reached, or the answer was cut off or too large.
    #[error("ClickHouse: {source}")]
    Transport {
        /// The HTTP client's error.
        #[source]
        source: ureq::Error,
    },
    /// A body could not be compressed.
    #[error("ClickHouse: compressing an insert: {0}")]
    Compress(#[source] std::io::Error),
    /// The server refused or failed a statement.
    #[error("ClickHouse answered {status}{}: {message}", code.map(|c| format!(" (code {c})")).unwrap_or_default())]
    Server {
        /// The HTTP status.
        status: u16,
        /// ClickHouse's error code, when the answer names one.
        code: Option<u32>,
        /// The server's message (at most 2 KiB of it).
        message: String,
    },
    /// An answer this store cannot read (a different schema, or a server version it does not
    /// know).
    #[error("ClickHouse: {0}")]
    Unexpected(String),
}

impl ClickHouseError {
    pub(crate) fn transport(source: ureq::Error) -> ClickHouseError {
        ClickHouseError::Transport { source }
    }

    /// The error of a non-200 answer: ClickHouse's messages start `Code: 60, e.displayText()
    /// = …` (before 21.x) or `Code: 60. DB::Exception: …`.
    pub(crate) fn server(status: u16, body: &[u8]) -> ClickHouseError {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let code = text.strip_prefix("Code: ").and_then(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse().ok()
        });
        let mut message: String = text.chars().take(2_048).collect();
        if message.len() < text.len() {
            message.push('…');
        }
        ClickHouseError::Server {
            status,
            code,
            message,
        }
    }

    /// ClickHouse's error code, for a server error that names one.
    pub fn code(&self) -> Option<u32> {
        match self {
            ClickHouseError::Server { code, .. } => *code,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_keep_their_code_in_both_message_styles() {
        let old = ClickHouseError::server(
            404,
            b"Code: 60, e.displayText() = DB::Exception: Table x.y doesn't exist., e.what() = DB::Exception\n",
        );
        assert_eq!(old.code(), Some(60));
        let new =
            ClickHouseError::server(404, b"Code: 60. DB::Exception: Table x.y does not exist");
        assert_eq!(new.code(), Some(60));
        assert!(new.to_string().contains("(code 60)"));
        assert_eq!(ClickHouseError::server(502, b"Bad gateway").code(), None);
    }
}
