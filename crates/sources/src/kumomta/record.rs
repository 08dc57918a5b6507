//! Reading one KumoMTA log record (a JSON object) into a typed view that borrows from it.
//!
//! KumoMTA adds fields to its records from release to release, so anything not read here is
//! ignored. What is read is checked for its type: a field of the wrong type, or a required
//! one missing, is a [`RecordError`] naming the field (nested fields by their dotted path,
//! e.g. `response.code`). `null` counts as absent, as KumoMTA writes unset optional fields.
//! So does an empty array where an object is expected: a Lua log hook decodes a record into
//! tables and encodes it again, and an empty table may come out as `[]` or `{}` (and, for
//! the same reason, an integer written as `3.0` is read as 3).
//!
//! Required: `type`; and, for the types that become events, `id`, `recipient` and a time
//! (`event_time`, RFC 3339 at full precision, KumoMTA 2025.10.06 and later, else `timestamp`,
//! unix seconds). `recipient` is a string, or an array of strings since KumoMTA 2025.12.02.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use eventhose_model::EnhancedStatus;
use serde_json::{Map, Value};

/// Why a record could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct RecordError {
    /// The field at fault, by its dotted path in the record (`response.code`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The record is not a JSON object (reported with the field `record`).
    #[error("is not a JSON object")]
    NotAnObject,
    /// A required field is absent or null.
    #[error("is missing")]
    Missing,
    /// The field has another JSON type than the one expected.
    #[error("must be {expected}")]
    WrongType {
        /// What it must be, with an article (`"a string"`).
        expected: &'static str,
    },
    /// The field has the right type but a value that cannot be used.
    #[error("{0}")]
    Invalid(&'static str),
}

impl RecordError {
    pub(crate) fn new(field: &'static str, problem: Problem) -> RecordError {
        RecordError { field, problem }
    }

    fn wrong_type(field: &'static str, expected: &'static str) -> RecordError {
        RecordError::new(field, Problem::WrongType { expected })
    }
}

/// KumoMTA's record types (`type`), as of KumoMTA 2026.06.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    /// A message was received (SMTP or the HTTP injection API).
    Reception,
    /// A message was delivered.
    Delivery,
    /// A permanent failure: delivery attempts stop.
    Bounce,
    /// A transient failure of one delivery attempt.
    TransientFailure,
    /// The message outlived its time in the queue.
    Expiration,
    /// An administrator failed the message.
    AdminBounce,
    /// An inbound delivery status notification (RFC 3464), one record per failed recipient.
    OOB,
    /// An inbound feedback report (RFC 5965).
    Feedback,
    /// KumoMTA's SMTP listener refused a command.
    Rejection,
    /// An administrator moved the message to another queue.
    AdminRebind,
    /// The message left the deferred-injection queue.
    DeferredInjectionRebind,
    /// Why a message went to the scheduled queue with no transient failure logged.
    Delayed,
    /// The message was handed to another KumoMTA node.
    XferOut,
    /// The message was taken over from another KumoMTA node.
    XferIn,
    /// A type this version does not know (a newer KumoMTA's).
    Other,
}

impl RecordType {
    fn from_name(name: &str) -> RecordType {
        match name {
            "Reception" => RecordType::Reception,
            "Delivery" => RecordType::Delivery,
            "Bounce" => RecordType::Bounce,
            "TransientFailure" => RecordType::TransientFailure,
            "Expiration" => RecordType::Expiration,
            "AdminBounce" => RecordType::AdminBounce,
            "OOB" => RecordType::OOB,
            "Feedback" => RecordType::Feedback,
            "Rejection" => RecordType::Rejection,
            "AdminRebind" => RecordType::AdminRebind,
            "DeferredInjectionRebind" => RecordType::DeferredInjectionRebind,
            "Delayed" => RecordType::Delayed,
            "XferOut" => RecordType::XferOut,
            "XferIn" => RecordType::XferIn,
            _ => RecordType::Other,
        }
    }
}

/// The SMTP reply of a record (`response`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Response<'a> {
    /// `response.code`, e.g. 550.
    pub code: Option<u16>,
    /// `response.enhanced_code`, when it is a valid RFC 3463 code.
    pub enhanced: Option<EnhancedStatus>,
    /// `response.content`, the reply text on one line.
    pub content: &'a str,
}

/// One record, read.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// `type`.
    pub record_type: RecordType,
    /// `type` as written.
    pub type_name: &'a str,
    /// `id`: the spool id (empty on `Rejection`; the inbound report's on `OOB` and `Feedback`).
    pub id: &'a str,
    /// `sender`, the envelope sender (empty for the null sender).
    pub sender: &'a str,
    /// `recipient`, one or many.
    pub recipients: Vec<&'a str>,
    /// `queue`: `campaign:tenant@domain!routing_domain` or a part of it.
    pub queue: &'a str,
    /// `size` in bytes.
    pub size: Option<u64>,
    /// `response`.
    pub response: Response<'a>,
    /// `peer_address.name`.
    pub peer_name: Option<&'a str>,
    /// `peer_address.addr`: an IP, `IP:port` or a socket path.
    pub peer_addr: Option<&'a str>,
    /// When it happened: `event_time`, else `timestamp`.
    pub time: DateTime<FixedOffset>,
    /// `created`: when the message was received.
    pub created: Option<DateTime<FixedOffset>>,
    /// `num_attempts`.
    pub num_attempts: Option<u64>,
    /// `bounce_classification`.
    pub bounce_classification: Option<&'a str>,
    /// `egress_pool`.
    pub egress_pool: Option<&'a str>,
    /// `source_address.address`: the local address (`ip:port`) a delivery was made from.
    pub source_address: Option<&'a str>,
    /// `feedback_report`.
    pub feedback_report: Option<&'a Map<String, Value>>,
    /// `meta`.
    pub meta: Option<&'a Map<String, Value>>,
    /// `delivery_protocol`: `ESMTP`, `Maildir`, `Lua`.
    pub delivery_protocol: Option<&'a str>,
    /// `reception_protocol`: `ESMTP`, `HTTP`, `LogRecord`.
    pub reception_protocol: Option<&'a str>,
    /// `nodeid`.
    pub nodeid: &'a str,
    /// `session_id`.
    pub session_id: Option<&'a str>,
}

impl<'a> Record<'a> {
    /// Reads the type only: enough to decide that a record gives no event.
    pub fn record_type(value: &Value) -> Result<(RecordType, &str), RecordError> {
        let object = object(value)?;
        let name = required_str(object, "type")?;
        Ok((RecordType::from_name(name), name))
    }

    /// Reads a record that becomes events.
    pub fn read(value: &'a Value) -> Result<Record<'a>, RecordError> {
        let object = object(value)?;
        let type_name = required_str(object, "type")?;
        let record_type = RecordType::from_name(type_name);
        let response = match get(object, "response") {
            None => Response::default(),
            Some(value) => read_response(value)?,
        };
        let peer = optional_object(object, "peer_address", "peer_address")?;
        let source = optional_object(object, "source_address", "source_address")?;
        Ok(Record {
            record_type,
            type_name,
            id: required_str(object, "id")?,
            sender: optional_str(object, "sender", "sender")?.unwrap_or(""),
            recipients: recipients(object)?,
            queue: optional_str(object, "queue", "queue")?.unwrap_or(""),
            size: optional_u64(object, "size", "size")?,
            response,
            peer_name: peer
                .map(|peer| optional_str(peer, "name", "peer_address.name"))
                .transpose()?
                .flatten(),
            peer_addr: peer
                .map(|peer| optional_str(peer, "addr", "peer_address.addr"))
                .transpose()?
                .flatten(),
            time: event_time(object)?,
            created: optional_seconds(object, "created")?,
            num_attempts: optional_u64(object, "num_attempts", "num_attempts")?,
            bounce_classification: optional_str(
                object,
                "bounce_classification",
                "bounce_classification",
            )?,
            egress_pool: optional_str(object, "egress_pool", "egress_pool")?,
            source_address: source
                .map(|source| optional_str(source, "address", "source_address.address"))
                .transpose()?
                .flatten(),
            feedback_report: optional_object(object, "feedback_report", "feedback_report")?,
            meta: optional_object(object, "meta", "meta")?,
            delivery_protocol: optional_str(object, "delivery_protocol", "delivery_protocol")?,
            reception_protocol: optional_str(object, "reception_protocol", "reception_protocol")?,
            nodeid: optional_str(object, "nodeid", "nodeid")?.unwrap_or(""),
            session_id: optional_str(object, "session_id", "session_id")?,
        })
    }
}

fn object(value: &Value) -> Result<&Map<String, Value>, RecordError> {
    value
        .as_object()
        .ok_or(RecordError::new("record", Problem::NotAnObject))
}

/// The member `name`, `null` taken as absent.
pub(crate) fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn required_str<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, RecordError> {
    optional_str(object, name, name)?.ok_or(RecordError::new(name, Problem::Missing))
}

/// The string member `name`, reported as `field` when it is not one.
pub(crate) fn optional_str<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    field: &'static str,
) -> Result<Option<&'a str>, RecordError> {
    match get(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(RecordError::wrong_type(field, "a string")),
    }
}

/// The object member `name`, reported as `field` when it is not one.
pub(crate) fn optional_object<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, RecordError> {
    match get(object, name) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        // An empty Lua table encoded as an array.
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(_) => Err(RecordError::wrong_type(field, "an object")),
    }
}

fn optional_u64(
    object: &Map<String, Value>,
    name: &str,
    field: &'static str,
) -> Result<Option<u64>, RecordError> {
    match get(object, name) {
        None => Ok(None),
        Some(value) => integer(value)
            .and_then(|n| u64::try_from(n).ok())
            .map(Some)
            .ok_or(RecordError::wrong_type(field, "a non-negative integer")),
    }
}

/// An integer, also when written as a float with no fraction (`3.0`), as a Lua hook may
/// re-encode one.
fn integer(value: &Value) -> Option<i64> {
    /// 2^53: every integer up to here is exact in an f64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value.as_i64() {
        Some(n) => Some(n),
        None => value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
            // Exact: an integral value within ±2^53 (checked above).
            .map(
                #[allow(clippy::cast_possible_truncation)]
                |f| f as i64,
            ),
    }
}

fn recipients(object: &Map<String, Value>) -> Result<Vec<&str>, RecordError> {
    let expected = "a string or an array of strings";
    match get(object, "recipient") {
        None => Err(RecordError::new("recipient", Problem::Missing)),
        Some(Value::String(one)) => Ok(vec![one.as_str()]),
        Some(Value::Array(many)) => many
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .ok_or(RecordError::wrong_type("recipient", expected))
            })
            .collect(),
        Some(_) => Err(RecordError::wrong_type("recipient", expected)),
    }
}

fn read_response(value: &Value) -> Result<Response<'_>, RecordError> {
    let object = value
        .as_object()
        .ok_or(RecordError::wrong_type("response", "an object"))?;
    let code = optional_u64(object, "code", "response.code")?
        .map(|code| {
            u16::try_from(code).map_err(|_| {
                RecordError::new(
                    "response.code",
                    Problem::Invalid("is not an SMTP reply code"),
                )
            })
        })
        .transpose()?;
    let enhanced = match optional_object(object, "enhanced_code", "response.enhanced_code")? {
        None => None,
        Some(parts) => enhanced_code(parts)?,
    };
    Ok(Response {
        code,
        enhanced,
        content: optional_str(object, "content", "response.content")?.unwrap_or(""),
    })
}

/// `{class, subject, detail}`; a code outside RFC 3463's classes is no code.
fn enhanced_code(parts: &Map<String, Value>) -> Result<Option<EnhancedStatus>, RecordError> {
    let field = "response.enhanced_code";
    let part = |name: &str| -> Result<u16, RecordError> {
        optional_u64(parts, name, field)?
            .and_then(|n| u16::try_from(n).ok())
            .ok_or(RecordError::new(
                field,
                Problem::Invalid("needs class, subject and detail below 65536"),
            ))
    };
    let (class, subject, detail) = (part("class")?, part("subject")?, part("detail")?);
    let class = match class {
        2 => 2,
        4 => 4,
        5 => 5,
        _ => return Ok(None),
    };
    Ok(Some(EnhancedStatus {
        class,
        subject,
        detail,
    }))
}

/// `event_time` (RFC 3339), else `timestamp` (unix seconds), in UTC.
fn event_time(object: &Map<String, Value>) -> Result<DateTime<FixedOffset>, RecordError> {
    if let Some(text) = optional_str(object, "event_time", "event_time")? {
        return DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&utc()))
            .map_err(|_| {
                RecordError::new("event_time", Problem::Invalid("is not an RFC 3339 time"))
            });
    }
    optional_seconds(object, "timestamp")?.ok_or(RecordError::new("timestamp", Problem::Missing))
}

/// Unix seconds (`timestamp`, `created`), in UTC.
fn optional_seconds(
    object: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, RecordError> {
    match get(object, name) {
        None => Ok(None),
        Some(value) => integer(value)
            .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
            .map(|time| Some(time.with_timezone(&utc())))
            .ok_or(RecordError::wrong_type(name, "unix seconds")),
    }
}

fn utc() -> FixedOffset {
    Utc.fix()
}
