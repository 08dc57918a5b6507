//! Reading and checking request bodies: the bulk `{"recipients":[…]}`, the single entry
//! `{"type","description","list_id"}` and the optional `{"type"}` of a delete.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use eventhose_state::suppressions::{recipient_key, validate_description, validate_list_id};
use eventhose_state::SuppressionType;
use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{ApiError, ErrorEntry};

/// At most this many faults are itemised in a 400; the rest are counted.
const MAX_LISTED_ERRORS: usize = 100;

/// The fields of one entry besides its recipient, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryFields {
    /// Which messages it stops: one type, or both when the older boolean fields say so (an
    /// entry of each type is written).
    pub types: Vec<SuppressionType>,
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
pub(crate) fn invalid(mut faults: Vec<ErrorEntry>) -> ApiError {
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

/// The fields of an entry as sent, each still raw JSON borrowed from the body: reading a body
/// builds no value tree, so its memory stays near its size whatever it nests (a 50 MB bulk body
/// of small arrays would be gigabytes as `serde_json::Value`). Unknown fields are skipped.
///
/// Besides today's fields it reads the older ones SparkPost still documents and its official
/// clients still send (python-sparkpost's `suppression_list.create`, node-sparkpost's
/// `suppressionList.upsert` examples): `email` for `recipient`, and the booleans
/// `transactional` and `non_transactional` for `type` — the older reference's "at a minimum,
/// transactional or non_transactional is required upon creation of the entry"; both true
/// writes an entry of each type. When `type` is given it wins over the booleans.
#[derive(Default, Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    recipient: Option<&'a RawValue>,
    #[serde(borrow, default)]
    email: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    suppression_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    transactional: Option<&'a RawValue>,
    #[serde(borrow, default)]
    non_transactional: Option<&'a RawValue>,
    #[serde(borrow, default)]
    description: Option<&'a RawValue>,
    #[serde(borrow, default)]
    list_id: Option<&'a RawValue>,
}

/// One field's value: absent (or null), a string, or another JSON value.
enum Field<'a> {
    Absent,
    Text(Cow<'a, str>),
    Other(&'a RawValue),
}

impl<'a> Field<'a> {
    fn of(raw: Option<&'a RawValue>) -> Self {
        match raw {
            None => Field::Absent,
            Some(raw) if raw.get() == "null" => Field::Absent,
            Some(raw) => match serde_json::from_str::<Cow<'a, str>>(raw.get()) {
                Ok(text) => Field::Text(text),
                Err(_) => Field::Other(raw),
            },
        }
    }
}

/// A value as shown in a fault: its JSON text, cut to a readable length.
fn shown(field: &Field<'_>) -> String {
    const MAX_SHOWN: usize = 60;
    let text = match field {
        Field::Absent => "null".to_owned(),
        Field::Text(text) => Value::String(text.to_string()).to_string(),
        Field::Other(raw) => raw.get().to_owned(),
    };
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Reads `T` from a body that must be a JSON object; `param` names the body in the error.
fn object<'a, T: Deserialize<'a>>(body: &'a [u8], param: &str) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_param(param, "the body must be a JSON object"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_param(param, format!("the body is not valid JSON: {e}")))
}

/// Checks the fields of one entry; faults name their field after `prefix`.
fn entry_fields(
    entry: &RawEntry<'_>,
    prefix: &str,
    faults: &mut Vec<ErrorEntry>,
) -> Option<EntryFields> {
    let before = faults.len();
    let types = entry_types(entry, prefix, faults);
    let description = match Field::of(entry.description) {
        Field::Absent => None,
        Field::Text(text) => {
            if let Err(e) = validate_description(&text) {
                faults.push(fault(
                    "invalid description",
                    e.to_string(),
                    format!("{prefix}description"),
                ));
            }
            Some(text.into_owned())
        }
        Field::Other(_) => {
            faults.push(fault(
                "invalid description",
                "description must be a string",
                format!("{prefix}description"),
            ));
            None
        }
    };
    let list_id = match Field::of(entry.list_id) {
        Field::Absent => None,
        Field::Text(text) if text.is_empty() => None,
        Field::Text(text) => {
            if let Err(e) = validate_list_id(&text) {
                faults.push(fault(
                    "invalid list_id",
                    e.to_string(),
                    format!("{prefix}list_id"),
                ));
            }
            Some(text.into_owned())
        }
        Field::Other(_) => {
            faults.push(fault(
                "invalid list_id",
                "list_id must be a string",
                format!("{prefix}list_id"),
            ));
            None
        }
    };
    (faults.len() == before).then_some(EntryFields {
        types: types?,
        description,
        list_id,
    })
}

/// The types an entry asks for: `type`, else the older `transactional` / `non_transactional`
/// booleans (see [`RawEntry`]).
fn entry_types(
    entry: &RawEntry<'_>,
    prefix: &str,
    faults: &mut Vec<ErrorEntry>,
) -> Option<Vec<SuppressionType>> {
    let missing = |faults: &mut Vec<ErrorEntry>| {
        faults.push(fault(
            "Must supply a suppression type",
            "type (or the older transactional / non_transactional) is required",
            format!("{prefix}type"),
        ));
        None
    };
    match Field::of(entry.suppression_type) {
        Field::Absent => {}
        value => {
            let parsed = match &value {
                Field::Text(name) => name.parse().ok(),
                _ => None,
            };
            if parsed.is_none() {
                faults.push(fault(
                    "Type must be one of: 'transactional', 'non_transactional'",
                    format!("type {} is not a suppression type", shown(&value)),
                    format!("{prefix}type"),
                ));
            }
            return parsed.map(|one| vec![one]);
        }
    }
    let mut types = Vec::new();
    let mut given = false;
    for (raw, name, suppression_type) in [
        (
            entry.transactional,
            "transactional",
            SuppressionType::Transactional,
        ),
        (
            entry.non_transactional,
            "non_transactional",
            SuppressionType::NonTransactional,
        ),
    ] {
        match raw.map(RawValue::get) {
            None | Some("null") => {}
            Some("true") => {
                given = true;
                types.push(suppression_type);
            }
            Some("false") => given = true,
            Some(other) => {
                faults.push(fault(
                    "invalid type",
                    format!("{name} must be true or false, got {other}"),
                    format!("{prefix}{name}"),
                ));
                return None;
            }
        }
    }
    if types.is_empty() {
        if given {
            faults.push(fault(
                "Must supply a suppression type",
                "transactional or non_transactional must be true",
                format!("{prefix}type"),
            ));
            return None;
        }
        return missing(faults);
    }
    Some(types)
}

/// Checks a recipient address; the fault names `param`.
pub(crate) fn check_recipient(recipient: &str, param: &str) -> Result<(), ErrorEntry> {
    recipient_key(recipient)
        .map(|_| ())
        .map_err(|e| fault("invalid recipient", e.to_string(), param))
}

/// A bulk body: only `recipients` is read.
#[derive(Deserialize)]
struct BulkBody<'a> {
    #[serde(borrow, default)]
    recipients: Option<&'a RawValue>,
}

/// The entries of a bulk `recipients` array, each still raw, read up to one past the most
/// allowed (the rest is skipped without being kept), so a body of millions of tiny entries
/// costs no more than the limit.
struct BoundedEntries<'a> {
    entries: Vec<&'a RawValue>,
    /// More than the most allowed were sent.
    over: bool,
}

/// Reads [`BoundedEntries`], keeping at most `.0` entries.
struct AtMost(usize);

impl<'de> serde::de::DeserializeSeed<'de> for AtMost {
    type Value = BoundedEntries<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AtMost {
    type Value = BoundedEntries<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        let mut over = false;
        while let Some(entry) = seq.next_element::<&'de RawValue>()? {
            if entries.len() == self.0 {
                over = true;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                break;
            }
            entries.push(entry);
        }
        Ok(BoundedEntries { entries, over })
    }
}

/// The entries of a bulk body (at most `max_entries`), every one of them valid, or a 400
/// naming every fault by entry index and field.
pub(crate) fn bulk_entries(
    body: &[u8],
    max_entries: usize,
) -> Result<Vec<(String, EntryFields)>, ApiError> {
    let body: BulkBody<'_> = object(body, "recipients")?;
    let entries = match body.recipients.map(RawValue::get) {
        None | Some("null") => {
            return Err(ApiError::bad_param("recipients", "recipients is required"))
        }
        Some(raw) => {
            let mut reader = serde_json::Deserializer::from_str(raw);
            serde::de::DeserializeSeed::deserialize(AtMost(max_entries), &mut reader).map_err(
                |_| ApiError::bad_param("recipients", "recipients must be an array of entries"),
            )?
        }
    };
    if entries.entries.is_empty() || entries.over {
        let got = if entries.over {
            format!("more than {max_entries}")
        } else {
            "0".to_owned()
        };
        return Err(ApiError::bad_param(
            "recipients",
            format!("recipients must hold 1 to {max_entries} entries (got {got})"),
        ));
    }
    let mut faults = Vec::new();
    let mut checked = Vec::with_capacity(entries.entries.len());
    for (index, entry) in entries.entries.iter().enumerate() {
        let prefix = format!("recipients[{index}].");
        let entry: RawEntry<'_> = match entry.get().starts_with('{') {
            true => match serde_json::from_str(entry.get()) {
                Ok(entry) => entry,
                Err(e) => {
                    faults.push(fault(
                        "invalid recipient entry",
                        format!("the entry is not valid: {e}"),
                        format!("recipients[{index}]"),
                    ));
                    continue;
                }
            },
            false => {
                faults.push(fault(
                    "invalid recipient entry",
                    "each entry must be an object",
                    format!("recipients[{index}]"),
                ));
                continue;
            }
        };
        let recipient = match Field::of(entry.recipient) {
            Field::Absent => Field::of(entry.email),
            given => given,
        };
        let recipient = match recipient {
            Field::Text(recipient) => {
                match check_recipient(&recipient, &format!("{prefix}recipient")) {
                    Ok(()) => Some(recipient.into_owned()),
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
        let fields = entry_fields(&entry, &prefix, &mut faults);
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
    let entry = if body.iter().all(u8::is_ascii_whitespace) {
        RawEntry::default()
    } else {
        object(body, "type")?
    };
    let mut faults = Vec::new();
    entry_fields(&entry, "", &mut faults).ok_or_else(|| invalid(faults))
}

/// The optional type of a delete body: `None` deletes both types.
pub(crate) fn delete_type(body: &[u8]) -> Result<Option<SuppressionType>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let entry: RawEntry<'_> = object(body, "type")?;
    match Field::of(entry.suppression_type) {
        Field::Absent => Ok(None),
        value => match &value {
            Field::Text(name) => name.parse().ok().map(Some),
            _ => None,
        }
        .ok_or_else(|| {
            invalid(vec![fault(
                "Type must be one of: 'transactional', 'non_transactional'",
                format!("type {} is not a suppression type", shown(&value)),
                "type",
            )])
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default most entries of a bulk body.
    const MOST: usize = 10_000;

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
        let err = bulk_entries(body, MOST).unwrap_err();
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
        let entries = bulk_entries(body, MOST).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "A@Example.com");
        assert_eq!(
            entries[0].1,
            EntryFields {
                types: vec![SuppressionType::NonTransactional],
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
            let err = bulk_entries(body, MOST).unwrap_err();
            assert_eq!(
                params(&err),
                ["recipients"],
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let one = r#"{"recipient":"a@example.com","type":"transactional"}"#;
        let too_many = format!(r#"{{"recipients":[{}]}}"#, vec![one; MOST + 1].join(","));
        assert_eq!(
            params(&bulk_entries(too_many.as_bytes(), MOST).unwrap_err()),
            ["recipients"]
        );
        let most = format!(r#"{{"recipients":[{}]}}"#, vec![one; MOST].join(","));
        assert_eq!(bulk_entries(most.as_bytes(), MOST).unwrap().len(), MOST);
    }

    #[test]
    fn many_faults_are_capped() {
        let bad = r#"{"recipient":"x","type":"transactional"}"#;
        let body = format!(r#"{{"recipients":[{}]}}"#, vec![bad; 150].join(","));
        let err = bulk_entries(body.as_bytes(), MOST).unwrap_err();
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
                types: vec![SuppressionType::Transactional],
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
