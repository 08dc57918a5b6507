//! Reading and checking request bodies: the bulk `{"recipients":[…]}`, the single entry
//! `{"type","description","list_id"}` and the optional `{"type"}` of a delete.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use eventhose_state::suppressions::{recipient_key, validate_description, validate_list_id};
use eventhose_state::SuppressionType;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorEntry};

/// Most entries in one bulk request.
pub(crate) const MAX_BULK_ENTRIES: usize = 10_000;
/// Largest bulk request body (50 MB).
pub(crate) const MAX_BULK_BODY_BYTES: usize = 50 * 1024 * 1024;
/// Largest body of the single-entry routes.
pub(crate) const MAX_ENTRY_BODY_BYTES: usize = 64 * 1024;
/// At most this many faults are itemised in a 400; the rest are counted.
const MAX_LISTED_ERRORS: usize = 100;

/// The fields of one entry besides its recipient, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryFields {
    /// Which messages it stops.
    pub suppression_type: SuppressionType,
    /// Why.
    pub description: Option<String>,
    /// The mailing list; `None` for the whole account.
    pub list_id: Option<String>,
}

/// Reads a body of at most `limit` bytes: 413 in SparkPost's shape beyond it.
pub(crate) async fn read(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorEntry::new("request body too large")
                .description(format!("the body exceeds {limit} bytes"))
                .code("1301"),
        )
    })
}

/// One fault of a body, naming the field at `param`.
fn fault(message: &str, description: impl Into<String>, param: impl Into<String>) -> ErrorEntry {
    ErrorEntry::new(message)
        .description(description)
        .code("1200")
        .param(param)
}

/// A 400 listing `faults` (the first [`MAX_LISTED_ERRORS`], then a count of the rest).
fn invalid(mut faults: Vec<ErrorEntry>) -> ApiError {
    let unlisted = faults.len().saturating_sub(MAX_LISTED_ERRORS);
    faults.truncate(MAX_LISTED_ERRORS);
    if unlisted > 0 {
        faults.push(
            ErrorEntry::new("more invalid entries")
                .description(format!("{unlisted} more faults are not listed"))
                .code("1200")
                .param("recipients"),
        );
    }
    ApiError {
        status: StatusCode::BAD_REQUEST,
        errors: faults,
        retry_after: None,
    }
}

/// The body as a JSON object; `param` names the body in the error.
fn object(body: &[u8], param: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_param(param, "the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_param(
            param,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// Checks the fields of one entry; faults name their field after `prefix`.
fn entry_fields(
    entry: &Map<String, Value>,
    prefix: &str,
    faults: &mut Vec<ErrorEntry>,
) -> Option<EntryFields> {
    let before = faults.len();
    let suppression_type = match entry.get("type") {
        None | Some(Value::Null) => {
            faults.push(fault(
                "Must supply a suppression type",
                "type is required",
                format!("{prefix}type"),
            ));
            None
        }
        Some(value) => {
            let parsed = value.as_str().and_then(|name| name.parse().ok());
            if parsed.is_none() {
                faults.push(fault(
                    "Type must be one of: 'transactional', 'non_transactional'",
                    format!("type {value} is not a suppression type"),
                    format!("{prefix}type"),
                ));
            }
            parsed
        }
    };
    let description = match entry.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            if let Err(e) = validate_description(text) {
                faults.push(fault(
                    "invalid description",
                    e.to_string(),
                    format!("{prefix}description"),
                ));
            }
            Some(text.clone())
        }
        Some(_) => {
            faults.push(fault(
                "invalid description",
                "description must be a string",
                format!("{prefix}description"),
            ));
            None
        }
    };
    let list_id = match entry.get("list_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => {
            if let Err(e) = validate_list_id(text) {
                faults.push(fault(
                    "invalid list_id",
                    e.to_string(),
                    format!("{prefix}list_id"),
                ));
            }
            Some(text.clone())
        }
        Some(_) => {
            faults.push(fault(
                "invalid list_id",
                "list_id must be a string",
                format!("{prefix}list_id"),
            ));
            None
        }
    };
    (faults.len() == before).then_some(EntryFields {
        suppression_type: suppression_type?,
        description,
        list_id,
    })
}

/// Checks a recipient address; the fault names `param`.
pub(crate) fn check_recipient(recipient: &str, param: &str) -> Result<(), ErrorEntry> {
    recipient_key(recipient)
        .map(|_| ())
        .map_err(|e| fault("invalid recipient", e.to_string(), param))
}

/// The entries of a bulk body, every one of them valid, or a 400 naming every fault by entry
/// index and field.
pub(crate) fn bulk_entries(body: &[u8]) -> Result<Vec<(String, EntryFields)>, ApiError> {
    let body = object(body, "recipients")?;
    let entries = match body.get("recipients") {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_param("recipients", "recipients is required"))
        }
        Some(_) => {
            return Err(ApiError::bad_param(
                "recipients",
                "recipients must be an array of entries",
            ))
        }
    };
    if entries.is_empty() || entries.len() > MAX_BULK_ENTRIES {
        return Err(ApiError::bad_param(
            "recipients",
            format!(
                "recipients must hold 1 to {MAX_BULK_ENTRIES} entries (got {})",
                entries.len()
            ),
        ));
    }
    let mut faults = Vec::new();
    let mut checked = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let prefix = format!("recipients[{index}].");
        let Value::Object(entry) = entry else {
            faults.push(fault(
                "invalid recipient entry",
                "each entry must be an object",
                format!("recipients[{index}]"),
            ));
            continue;
        };
        let recipient = match entry.get("recipient") {
            Some(Value::String(recipient)) => {
                match check_recipient(recipient, &format!("{prefix}recipient")) {
                    Ok(()) => Some(recipient.clone()),
                    Err(e) => {
                        faults.push(e);
                        None
                    }
                }
            }
            _ => {
                faults.push(fault(
                    "invalid recipient",
                    "recipient (an email address) is required",
                    format!("{prefix}recipient"),
                ));
                None
            }
        };
        let fields = entry_fields(entry, &prefix, &mut faults);
        if let (Some(recipient), Some(fields)) = (recipient, fields) {
            checked.push((recipient, fields));
        }
    }
    if faults.is_empty() {
        Ok(checked)
    } else {
        Err(invalid(faults))
    }
}

/// The fields of a single-entry body.
pub(crate) fn single_entry(body: &[u8]) -> Result<EntryFields, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        object(body, "type")?
    };
    let mut faults = Vec::new();
    entry_fields(&body, "", &mut faults).ok_or_else(|| invalid(faults))
}

/// The optional type of a delete body: `None` deletes both types.
pub(crate) fn delete_type(body: &[u8]) -> Result<Option<SuppressionType>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body = object(body, "type")?;
    match body.get("type") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|name| name.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                invalid(vec![fault(
                    "Type must be one of: 'transactional', 'non_transactional'",
                    format!("type {value} is not a suppression type"),
                    "type",
                )])
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(err: &ApiError) -> Vec<String> {
        err.errors.iter().filter_map(|e| e.param.clone()).collect()
    }

    #[test]
    fn bulk_names_every_bad_entry_and_field() {
        let body = br#"{"recipients":[
            {"recipient":"ok@example.com","type":"transactional","description":"d","list_id":"news"},
            {"recipient":"nope","type":"transactional"},
            {"recipient":"b@example.com"},
            {"recipient":"c@example.com","type":"both","list_id":"a..b"},
            7,
            {"type":"non_transactional","description":3}
        ]}"#;
        let err = bulk_entries(body).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            params(&err),
            [
                "recipients[1].recipient",
                "recipients[2].type",
                "recipients[3].type",
                "recipients[3].list_id",
                "recipients[4]",
                "recipients[5].recipient",
                "recipients[5].description",
            ]
        );
        assert_eq!(err.errors[1].message, "Must supply a suppression type");
        assert_eq!(
            err.errors[2].message,
            "Type must be one of: 'transactional', 'non_transactional'"
        );
    }

    #[test]
    fn bulk_reads_valid_entries() {
        let body = br#"{"recipients":[
            {"recipient":"A@Example.com","type":"non_transactional","list_id":""},
            {"recipient":"b@example.com","type":"transactional","description":"why","list_id":"l.1"}
        ]}"#;
        let entries = bulk_entries(body).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "A@Example.com");
        assert_eq!(
            entries[0].1,
            EntryFields {
                suppression_type: SuppressionType::NonTransactional,
                description: None,
                list_id: None,
            }
        );
        assert_eq!(entries[1].1.list_id.as_deref(), Some("l.1"));
        assert_eq!(entries[1].1.description.as_deref(), Some("why"));
    }

    #[test]
    fn bulk_shape_and_size_are_checked() {
        for body in [
            &b"[]"[..],
            b"{",
            b"{}",
            br#"{"recipients":{}}"#,
            br#"{"recipients":[]}"#,
        ] {
            let err = bulk_entries(body).unwrap_err();
            assert_eq!(
                params(&err),
                ["recipients"],
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let one = r#"{"recipient":"a@example.com","type":"transactional"}"#;
        let too_many = format!(
            r#"{{"recipients":[{}]}}"#,
            vec![one; MAX_BULK_ENTRIES + 1].join(",")
        );
        assert_eq!(
            params(&bulk_entries(too_many.as_bytes()).unwrap_err()),
            ["recipients"]
        );
        let most = format!(
            r#"{{"recipients":[{}]}}"#,
            vec![one; MAX_BULK_ENTRIES].join(",")
        );
        assert_eq!(
            bulk_entries(most.as_bytes()).unwrap().len(),
            MAX_BULK_ENTRIES
        );
    }

    #[test]
    fn many_faults_are_capped() {
        let bad = r#"{"recipient":"x","type":"transactional"}"#;
        let body = format!(r#"{{"recipients":[{}]}}"#, vec![bad; 150].join(","));
        let err = bulk_entries(body.as_bytes()).unwrap_err();
        assert_eq!(err.errors.len(), MAX_LISTED_ERRORS + 1);
        assert!(err.errors[MAX_LISTED_ERRORS]
            .description
            .as_deref()
            .unwrap()
            .starts_with("50 more"));
    }

    #[test]
    fn single_and_delete_bodies() {
        assert_eq!(
            single_entry(br#"{"type":"transactional","description":"x"}"#).unwrap(),
            EntryFields {
                suppression_type: SuppressionType::Transactional,
                description: Some("x".into()),
                list_id: None,
            }
        );
        let missing = single_entry(b"").unwrap_err();
        assert_eq!(missing.errors[0].message, "Must supply a suppression type");
        assert_eq!(params(&missing), ["type"]);
        let long = format!(
            r#"{{"type":"transactional","description":"{}"}}"#,
            "x".repeat(1025)
        );
        assert_eq!(
            params(&single_entry(long.as_bytes()).unwrap_err()),
            ["description"]
        );

        assert_eq!(delete_type(b"").unwrap(), None);
        assert_eq!(delete_type(b"{}").unwrap(), None);
        assert_eq!(
            delete_type(br#"{"type":"non_transactional"}"#).unwrap(),
            Some(SuppressionType::NonTransactional)
        );
        for bad in [&br#"{"type":"all"}"#[..], br#"{"type":1}"#, b"nope"] {
            assert_eq!(params(&delete_type(bad).unwrap_err()), ["type"]);
        }
    }
}
