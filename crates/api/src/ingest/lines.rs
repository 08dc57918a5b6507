//! The body of `POST /api/v1/ingest/events`: SparkPost-shaped events, one per line (bare or
//! in the webhook envelope), validated by eventhose-model.

use eventhose_model::{normalize_scoped_line, IngestScope};

use super::{too_large, Batch, IngestSettings, Refusals, Stored};
use crate::error::{ApiError, ErrorEntry};

/// Parses every non-blank line; any bad line fails the whole request, naming each one. Lines
/// are counted as they are read: a request over `max_events` stops at the first line too many,
/// so the memory it costs stays bounded by the limits, not by its line count.
pub(super) fn parse_lines(
    text: &[u8],
    limits: &IngestSettings,
    scope: &IngestScope,
) -> Result<Batch, ApiError> {
    let lines = text
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace));
    let mut events = Vec::new();
    let mut refusals = Refusals::default();
    for (index, (number, line)) in lines.enumerate() {
        if index == limits.max_events {
            return Err(too_large(
                "too many events",
                format!(
                    "line {number} is event {}; at most {} are accepted per request",
                    index + 1,
                    limits.max_events
                ),
            ));
        }
        let result = if line.len() > limits.max_line_bytes {
            Err(ErrorEntry::new("line too long").description(format!(
                "line {number}: {} bytes, at most {} per event",
                line.len(),
                limits.max_line_bytes
            )))
        } else {
            normalize_scoped_line(line, scope)
                .map(|(event_type, bytes)| Stored::new(event_type, bytes))
                .map_err(|e| {
                    let entry =
                        ErrorEntry::new("invalid event").description(format!("line {number}: {e}"));
                    match e.field() {
                        Some(field) => entry.param(field),
                        None => entry,
                    }
                })
        };
        match result {
            Ok(event) if !refusals.any() => events.push(event),
            Ok(_) => {}
            Err(entry) => refusals.push(entry.line(number)),
        }
    }
    if refusals.any() {
        return Err(refusals.into_error("lines"));
    }
    if events.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorEntry::new("no events")
                .description("the body holds no event lines")
                .code("1300"),
        ));
    }
    Ok(Batch {
        events,
        skipped: None,
    })
}
