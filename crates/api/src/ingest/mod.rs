//! Ingest: events in, accepted all or nothing and answered only once every event is durable
//! on the hose.
//!
//! Two routes share one pipeline and differ only in how a body becomes events:
//!
//! - `POST /api/v1/ingest/events`: SparkPost-shaped events, one per line (`lines.rs`);
//! - `POST /api/v1/ingest/kumomta`: KumoMTA's log records, as its log hooks post them
//!   ([`kumomta`]).
//!
//! The pipeline (`ingest` below): the key needs [`INGEST_GRANT`]; with an `Idempotency-Key` a
//! kept answer is replayed ([`crate::idempotency`], the route being part of the request's
//! identity); the body is read up to `max_body_bytes` and gunzipped up to
//! `max_decompressed_bytes`; on a blocking thread its `Format` turns it into storage forms,
//! each validated and checked against the key's scope (a bad line or record fails the whole
//! request with a 400 naming it) and given what it leaves out that its other fields tell
//! ([`eventhose_model::enrich_stored`]; the mailbox provider of a domain hosted at a provider
//! from its MX hosts, [`mx`]); the batch is published and the answer given once the hose says
//! it is durable (429 or 503 when it refuses).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eventhose_hose::{HoseError, Message};
use eventhose_model::{add_provider, enrich_stored, EventType, IngestScope};
use eventhose_state::ApiKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::idempotency::{self, Begun};
use crate::AppState;

pub mod kumomta;
mod lines;
pub mod mx;

pub use kumomta::{KumoMtaSettings, UnknownTenantSetting};
pub use mx::{MxLookup, MxLookupError, MxLookupSettings};

/// The grant ingest needs.
pub const INGEST_GRANT: &str = "events/ingest";

/// At most this many bad lines are itemised in a 400; the rest are counted.
const MAX_LISTED_ERRORS: usize = 100;

/// How ingest reads requests (the `[ingest]` table): the limits on one request, each
/// enforced with its own error, and how KumoMTA records are read and events enriched.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Largest body as sent (compressed, if gzip), in bytes.
    pub max_body_bytes: usize,
    /// Largest body after decompression, in bytes (a gzip bomb stops here).
    pub max_decompressed_bytes: usize,
    /// Most events in one request.
    pub max_events: usize,
    /// Longest line (one event), in bytes.
    pub max_line_bytes: usize,
    /// How far ahead of this server's clock an event's `timestamp` may be, in seconds (MTA
    /// clocks drift); later events are refused.
    pub max_clock_skew_secs: u64,
    /// How far behind this server's clock an event's `timestamp` may be, in seconds: the
    /// longest retention of any store, set from the `[analytics]` retentions (not read from
    /// the `[ingest]` table). Older events are refused, since no store would keep them.
    #[serde(skip)]
    pub max_event_age_secs: u64,
    /// How long the answer to a request sent with an `Idempotency-Key` is kept, in seconds: a
    /// retry with the same key within this time gets that answer and publishes nothing.
    pub idempotency_key_ttl_secs: u64,
    /// How `POST /api/v1/ingest/kumomta` reads KumoMTA's records: which subaccount each
    /// KumoMTA tenant is (the `[ingest.kumomta]` table).
    pub kumomta: KumoMtaSettings,
    /// How the mailbox provider of a domain the model's table does not know is looked up
    /// (the `[ingest.mx_lookup]` table).
    pub mx_lookup: MxLookupSettings,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_events: 10_000,
            max_line_bytes: 256 * 1024,
            max_clock_skew_secs: 3_600,
            max_event_age_secs: 183 * 86_400,
            idempotency_key_ttl_secs: 86_400,
            kumomta: KumoMtaSettings::default(),
            mx_lookup: MxLookupSettings::default(),
        }
    }
}

impl IngestSettings {
    /// What a request of `key` may carry, as of now.
    fn scope(&self, key: &ApiKey) -> IngestScope {
        let now = chrono::Utc::now().timestamp();
        let seconds = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX);
        IngestScope {
            subaccount: key.subaccount,
            earliest: now.saturating_sub(seconds(self.max_event_age_secs)),
            latest: now.saturating_add(seconds(self.max_clock_skew_secs)),
        }
    }
}

pub(crate) fn too_large(message: &str, description: String) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorEntry::new(message)
            .description(description)
            .code("1301"),
    )
}

/// What a request's body holds, and so how it becomes events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// SparkPost-shaped events, one per line.
    Events,
    /// KumoMTA log records: one object, an array, or one per line.
    KumoMta,
}

impl Format {
    /// Its part in an idempotent request's identity: a key used on one route and then on the
    /// other is another request (empty for the events route, whose kept answers predate it).
    fn route_tag(self) -> &'static str {
        match self {
            Format::Events => "",
            Format::KumoMta => "kumomta",
        }
    }

    /// The body's storage forms, each validated and in scope; any bad one fails all.
    fn parse(
        self,
        text: &[u8],
        limits: &IngestSettings,
        scope: &IngestScope,
    ) -> Result<Batch, ApiError> {
        match self {
            Format::Events => lines::parse_lines(text, limits, scope),
            Format::KumoMta => kumomta::parse_records(text, limits, scope),
        }
    }
}

/// One request's events, ready to publish once the MX lookups are done.
pub(crate) struct Batch {
    /// The storage forms.
    pub(crate) events: Vec<Stored>,
    /// Records that gave no event, for the formats that skip some (`None` for the others).
    pub(crate) skipped: Option<usize>,
}

/// One event's storage form, enriched as far as the tables go.
pub(crate) struct Stored {
    bytes: Vec<u8>,
    /// The recipient's domain, when the event names no mailbox provider and the table does
    /// not know the domain.
    unknown_domain: Option<String>,
}

impl Stored {
    /// `bytes`, a validated `event_type` storage form, with what enrichment adds.
    pub(crate) fn new(event_type: EventType, mut bytes: Vec<u8>) -> Stored {
        let unknown_domain = enrich_stored(event_type, &mut bytes);
        Stored {
            bytes,
            unknown_domain,
        }
    }
}

/// The hose's messages of `events`, each given the provider its domain's MX hosts name, as far
/// as `mx` learns them within its wait.
async fn with_mx_providers(mx: Option<&Arc<MxLookup>>, events: Vec<Stored>) -> Vec<Message> {
    let providers = match mx {
        Some(mx) => {
            let domains: HashSet<String> = events
                .iter()
                .filter_map(|event| event.unknown_domain.clone())
                .collect();
            mx.providers(domains).await
        }
        None => HashMap::new(),
    };
    events
        .into_iter()
        .map(|event| {
            let mut bytes = event.bytes;
            let provider = event
                .unknown_domain
                .and_then(|d| providers.get(&d).copied());
            if let Some(provider) = provider {
                add_provider(&mut bytes, provider);
            }
            Message::from(bytes)
        })
        .collect()
}

/// `POST /api/v1/ingest/events`.
pub async fn ingest_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(&state, &caller, &headers, body, Format::Events).await
}

/// `POST /api/v1/ingest/kumomta`.
pub async fn ingest_kumomta(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(&state, &caller, &headers, body, Format::KumoMta).await
}

/// Handles one ingest request of either route; one sent with an `Idempotency-Key` is
/// answered once (see [`crate::idempotency`]).
async fn ingest(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Response, ApiError> {
    let key = caller.require(INGEST_GRANT)?;
    let Some(idempotency_key) = idempotency::header_key(headers)? else {
        return accept(state, key, headers, body, format)
            .await
            .map(IntoResponse::into_response);
    };
    let body = read_body(body, state.ingest_settings.max_body_bytes).await?;
    let digest = idempotency::request_digest(headers, format.route_tag(), &body);
    let ttl = state.ingest_settings.idempotency_key_ttl_secs;
    let claim = match state
        .idempotency
        .begin(&key.id, idempotency_key, digest, ttl)
        .await?
    {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Claimed(claim) => claim,
    };
    let answer = accept(state, key, headers, Body::from(body), format).await;
    match &answer {
        Ok(Json(value)) => claim.keep(StatusCode::OK, value).await,
        Err(error) => claim.keep(error.status, &error.body()).await,
    }
    answer.map(IntoResponse::into_response)
}

/// Reads a body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        too_large(
            "request body too large",
            format!("the body exceeds {limit} bytes"),
        )
    })
}

/// Checks, parses and publishes one request's events; answers once they are durable.
async fn accept(
    state: &AppState,
    key: &ApiKey,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Json<Value>, ApiError> {
    let limits = state.ingest_settings.clone();
    let scope = limits.scope(key);
    let gzip = content_is_gzip(headers)?;
    let body = read_body(body, limits.max_body_bytes).await?;
    metrics::counter!("eventhose_ingest_request_bytes_total").increment(body.len() as u64);

    let batch = tokio::task::spawn_blocking(move || -> Result<Batch, ApiError> {
        let text = if gzip {
            gunzip_bounded(&body, limits.max_decompressed_bytes)?
        } else {
            if body.len() > limits.max_decompressed_bytes {
                return Err(decompressed_too_large(limits.max_decompressed_bytes));
            }
            body
        };
        format.parse(&text, &limits, &scope)
    })
    .await
    .map_err(ApiError::internal)??;

    let Batch { events, skipped } = batch;
    let messages = with_mx_providers(state.mx_lookup.as_ref(), events).await;
    let count = messages.len();
    // A KumoMTA batch of records that are no events (rebinds, hook traffic) is answered
    // like any other, so the hook does not retry it.
    if count > 0 {
        let event_bytes: usize = messages.iter().map(|m| m.len()).sum();
        state.hose.publish(messages).await.map_err(hose_error)?;
        crash_after_publish_if_asked();
        metrics::counter!("eventhose_ingest_events_total").increment(count as u64);
        metrics::counter!("eventhose_ingest_event_bytes_total").increment(event_bytes as u64);
    }

    if let Some(skipped) = skipped.filter(|&n| n > 0) {
        metrics::counter!("eventhose_ingest_skipped_records_total").increment(skipped as u64);
    }

    let batch_id = uuid::Uuid::new_v4().to_string();
    let results = match skipped {
        None => json!({ "id": batch_id, "accepted": count }),
        Some(skipped) => json!({ "id": batch_id, "accepted": count, "skipped": skipped }),
    };
    Ok(Json(json!({ "results": results })))
}

/// The end-to-end tests' way to stop the process in the window between a request's events
/// becoming durable and its answer (as a `kill -9` would): with
/// `TEST_EVENTHOSE_ABORT_AFTER_PUBLISH` set, a debug build aborts here. Release builds have
/// no such hook.
fn crash_after_publish_if_asked() {
    #[cfg(debug_assertions)]
    if std::env::var_os("TEST_EVENTHOSE_ABORT_AFTER_PUBLISH").is_some() {
        std::process::abort();
    }
}

/// Whether the body is gzip; any other encoding than identity is refused with 415.
fn content_is_gzip(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let encoding = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "gzip" | "x-gzip" => Ok(true),
        "" | "identity" => Ok(false),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorEntry::new("unsupported content encoding")
                .description(format!(
                    "Content-Encoding `{other}` is not supported; use gzip or none"
                ))
                .code("1302")
                .param("Content-Encoding"),
        )),
    }
}

fn decompressed_too_large(limit: usize) -> ApiError {
    too_large(
        "decompressed body too large",
        format!("the body exceeds {limit} bytes once decompressed"),
    )
}

/// Decompresses at most `limit` bytes: reading stops one byte past it, so a gzip bomb costs
/// no more memory than the limit. The room is taken once, from the size the gzip trailer
/// announces (a hint, bounded by the limit): growing by doubling would hold up to twice the
/// body's size at the last copy.
fn gunzip_bounded(body: &[u8], limit: usize) -> Result<Bytes, ApiError> {
    let announced = body
        .last_chunk::<4>()
        .map_or(0, |size| u32::from_le_bytes(*size) as usize);
    let mut out = Vec::with_capacity(announced.max(body.len()).min(limit).saturating_add(1));
    let decoder = flate2::read::MultiGzDecoder::new(body);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorEntry::new("invalid gzip body")
                    .description(format!("the body could not be decompressed: {e}"))
                    .code("1303"),
            )
        })?;
    if out.len() > limit {
        return Err(decompressed_too_large(limit));
    }
    Ok(Bytes::from(out))
}

/// The refusals of one request's bad lines or records: at most [`MAX_LISTED_ERRORS`]
/// itemised, the rest counted.
#[derive(Default)]
pub(crate) struct Refusals {
    errors: Vec<ErrorEntry>,
    count: usize,
}

impl Refusals {
    /// Adds one refusal.
    pub(crate) fn push(&mut self, entry: ErrorEntry) {
        self.count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(entry.code("1300"));
        }
    }

    /// Whether any was added.
    pub(crate) fn any(&self) -> bool {
        self.count > 0
    }

    /// The 400 for them all, `what` naming the unit (`lines`, `records`).
    pub(crate) fn into_error(mut self, what: &str) -> ApiError {
        if self.count > self.errors.len() {
            self.errors.push(
                ErrorEntry::new("more invalid events")
                    .description(format!(
                        "{} more invalid {what} not listed",
                        self.count - self.errors.len()
                    ))
                    .code("1300"),
            );
        }
        ApiError {
            status: StatusCode::BAD_REQUEST,
            errors: self.errors,
            retry_after: None,
        }
    }
}

/// Maps a hose refusal to the answer a sender can act on.
fn hose_error(error: HoseError) -> ApiError {
    match error {
        HoseError::Backlogged {
            subscriber,
            lag_bytes,
        } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorEntry::new("too many requests").description(format!(
                "subscriber `{subscriber}` is {lag_bytes} bytes behind; retry later"
            )),
        )
        .retry_after(5),
        HoseError::DiskFull { available_bytes } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable").description(format!(
                "the data disk is nearly full ({available_bytes} bytes free); nothing was stored"
            )),
        )
        .retry_after(30),
        HoseError::Closed => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable")
                .description("eventhose is shutting down; nothing was stored"),
        )
        .retry_after(5),
        HoseError::WriterFailed { reason: why, .. } | HoseError::Unavailable(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable").description(format!(
                "the event hose cannot take events right now ({why}); nothing was acknowledged"
            )),
        )
        .retry_after(5),
        // A write that failed (a full disk, above all) was cut off: nothing of it was stored,
        // and the hose tries again with the next request.
        HoseError::Io(error) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable").description(format!(
                "the event hose could not write ({error}); nothing was acknowledged"
            )),
        )
        .retry_after(5),
        other => ApiError::internal(other),
    }
}

#[cfg(test)]
mod kumomta_tests;
#[cfg(test)]
mod mx_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hose_refusals_map_to_429_and_503_with_retry_after() {
        let backlogged = hose_error(HoseError::Backlogged {
            subscriber: "metrics".into(),
            lag_bytes: 42,
        });
        assert_eq!(backlogged.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(backlogged.retry_after.is_some());
        assert!(backlogged.errors[0]
            .description
            .as_deref()
            .is_some_and(|d| d.contains("metrics")));
        let full = hose_error(HoseError::DiskFull { available_bytes: 1 });
        assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            hose_error(HoseError::Closed).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        for failed_write in [
            HoseError::Io(std::io::Error::from_raw_os_error(28)),
            HoseError::WriterFailed {
                reason: "No space left on device".into(),
                source: None,
            },
        ] {
            let answer = hose_error(failed_write);
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(answer.retry_after.is_some());
        }
    }

    #[test]
    fn gunzip_stops_one_byte_past_the_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b'a'; 1_000_000]).unwrap();
        let gz = encoder.finish().unwrap();
        let err = gunzip_bounded(&gz, 1000).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(gunzip_bounded(&gz, 1_000_000).unwrap().len(), 1_000_000);
        assert_eq!(
            gunzip_bounded(b"not gzip", 10).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
