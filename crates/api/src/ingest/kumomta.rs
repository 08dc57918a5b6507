//! The body of `POST /api/v1/ingest/kumomta`: KumoMTA's log records, mapped to SparkPost
//! events by [`eventhose_sources::kumomta`].
//!
//! A body is one record (a JSON object, as KumoMTA's `log_hooks:new_json` posts it), an
//! array of records (a batching hook's `send_batch`), or records one after another (NDJSON,
//! or any whitespace between them: a tailed log file). Records are numbered from 1 in that
//! order, and every refusal names its record (`record` in the error, `param` the field).
//!
//! The limits are the events route's: at most `max_events` records and `max_events`
//! events (a record gives one event per recipient), each record at most `max_line_bytes`.
//! An array is read element by element and stops at the first one too many, so a body of
//! tiny records costs no more than the limits allow.
//!
//! A record that gives no event (see [`eventhose_sources::kumomta::map`]) is counted in the
//! answer's `skipped` and in `eventhose_ingest_skipped_records_total`; so is one older than
//! the longest retention (a backfill of an old log is not refused for its oldest records; a
//! record dated too far ahead still is). A batch of only such records is answered 200, so
//! the hook does not retry it.

use std::collections::BTreeMap;
use std::fmt;

use eventhose_model::{normalize_scoped_line, IngestScope, ParseError, MAX_SUBACCOUNT_ID};
use eventhose_sources::kumomta::{map_record, KumoConfig, Outcome, UnknownTenant};
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{too_large, Batch, IngestSettings, Refusals, Stored};
use crate::error::{ApiError, ErrorEntry};

/// How KumoMTA's records are read: the `[ingest.kumomta]` settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KumoMtaSettings {
    /// KumoMTA tenant → subaccount id (at most [`MAX_SUBACCOUNT_ID`]). The tenant is the
    /// record's `meta.tenant` when the log hook logs that meta key, else the tenant part of
    /// its queue name (`campaign:tenant@domain`).
    #[serde(deserialize_with = "subaccount_ids")]
    pub tenants: BTreeMap<String, u64>,
    /// What a tenant that is not in `tenants` becomes.
    pub unknown_tenant: UnknownTenantSetting,
}

/// What a tenant missing from [`KumoMtaSettings::tenants`] becomes.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownTenantSetting {
    /// Its events go to the primary account (or to the subaccount of the key that sent
    /// them): nothing is lost while the map is incomplete.
    #[default]
    Primary,
    /// Its records are refused with a 400 naming the field the tenant came from.
    Refuse,
}

impl KumoMtaSettings {
    /// The mapping's configuration.
    pub fn config(&self) -> KumoConfig {
        KumoConfig {
            tenants: self.tenants.clone(),
            unknown_tenant: match self.unknown_tenant {
                UnknownTenantSetting::Primary => UnknownTenant::Primary,
                UnknownTenantSetting::Refuse => UnknownTenant::Refuse,
            },
        }
    }
}

fn subaccount_ids<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, u64>, D::Error> {
    let tenants = BTreeMap::<String, u64>::deserialize(deserializer)?;
    match tenants.iter().find(|(_, &id)| id > MAX_SUBACCOUNT_ID) {
        Some((tenant, id)) => Err(de::Error::custom(format!(
            "tenant `{tenant}`: subaccount id {id} is above {MAX_SUBACCOUNT_ID}"
        ))),
        None => Ok(tenants),
    }
}

/// Maps every record of `text` to validated storage forms; any bad record fails the whole
/// request, naming each one.
pub(super) fn parse_records(
    text: &[u8],
    limits: &IngestSettings,
    scope: &IngestScope,
) -> Result<Batch, ApiError> {
    let records = split(text, limits.max_events)?;
    if records.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorEntry::new("no records")
                .description("the body holds no KumoMTA record")
                .code("1300"),
        ));
    }
    let config = limits.kumomta.config();
    let mut stored = Vec::new();
    let mut refusals = Refusals::default();
    let mut skipped = 0;
    let mut events = Vec::new();
    for (index, raw) in records.iter().enumerate() {
        let number = index + 1;
        events.clear();
        match map_one(raw, limits, &config, &mut events) {
            Ok(Outcome::Skipped(_)) => skipped += 1,
            Ok(Outcome::Events(_)) => {}
            Err(entry) => {
                refusals.push(entry.record(number));
                continue;
            }
        }
        let mut too_old = false;
        for event in &events {
            if stored.len() == limits.max_events {
                return Err(too_large(
                    "too many events",
                    format!(
                        "record {number} gives more than {} events, the most accepted per \
                         request",
                        limits.max_events
                    ),
                ));
            }
            match admit(event, scope) {
                Ok(event) if !refusals.any() => stored.push(event),
                Ok(_) => {}
                Err(Refused::TooOld) => too_old = true,
                Err(Refused::Invalid(entry)) => refusals.push(entry.record(number)),
            }
        }
        if too_old {
            skipped += 1;
        }
    }
    if refusals.any() {
        return Err(refusals.into_error("records"));
    }
    Ok(Batch {
        events: stored,
        skipped: Some(skipped),
    })
}

/// One record's events, or the refusal naming its field.
fn map_one(
    raw: &RawValue,
    limits: &IngestSettings,
    config: &KumoConfig,
    events: &mut Vec<Map<String, Value>>,
) -> Result<Outcome, ErrorEntry> {
    let json = raw.get();
    if json.len() > limits.max_line_bytes {
        return Err(ErrorEntry::new("record too long").description(format!(
            "{} bytes, at most {} per record",
            json.len(),
            limits.max_line_bytes
        )));
    }
    let value: Value = serde_json::from_str(json).map_err(|e| {
        ErrorEntry::new("invalid record").description(format!("not readable JSON: {e}"))
    })?;
    map_record(&value, config, events).map_err(|e| {
        ErrorEntry::new("invalid record")
            .description(format!("KumoMTA record: {e}"))
            .param(e.field)
    })
}

/// Why an event was not admitted.
enum Refused {
    /// Older than any store keeps: skipped, not refused (a backfill of an old log must not
    /// fail the newer records around it).
    TooOld,
    /// Invalid, or out of the key's scope: the request is refused.
    Invalid(ErrorEntry),
}

/// An event's validated storage form, within the key's scope.
fn admit(event: &Map<String, Value>, scope: &IngestScope) -> Result<Stored, Refused> {
    let line = serde_json::to_vec(event).map_err(|e| {
        Refused::Invalid(
            ErrorEntry::new("invalid record").description(format!("unwritable event: {e}")),
        )
    })?;
    normalize_scoped_line(&line, scope)
        .map(|(event_type, bytes)| Stored::new(event_type, bytes))
        .map_err(|e| {
            if let ParseError::OutsideWindow {
                timestamp,
                earliest,
                ..
            } = e
            {
                if timestamp < earliest {
                    return Refused::TooOld;
                }
            }
            let entry = ErrorEntry::new("invalid record").description(format!(
                "its {} event: {e}",
                event.get("type").and_then(Value::as_str).unwrap_or("")
            ));
            Refused::Invalid(match e.field() {
                Some(field) => entry.param(field),
                None => entry,
            })
        })
}

/// The body's records, unparsed: the elements of an array, or the values one after another.
fn split(text: &[u8], max_records: usize) -> Result<Vec<&RawValue>, ApiError> {
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    let records = if first.is_some_and(|at| text[at] == b'[') {
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let records = (&mut deserializer)
            .deserialize_seq(BoundedRecords { max: max_records })
            .and_then(|records| deserializer.end().map(|()| records));
        records.map_err(|e| {
            if e.to_string().starts_with(TOO_MANY) {
                too_many_records(max_records)
            } else {
                unreadable(None, &e)
            }
        })?
    } else {
        let mut records = Vec::new();
        for (index, record) in serde_json::Deserializer::from_slice(text)
            .into_iter::<&RawValue>()
            .enumerate()
        {
            if index == max_records {
                return Err(too_many_records(max_records));
            }
            records.push(record.map_err(|e| unreadable(Some(index + 1), &e))?);
        }
        records
    };
    Ok(records)
}

/// The start of the error an array with too many records stops with.
const TOO_MANY: &str = "too many records";

/// Reads an array's elements, stopping at the first past `max`.
struct BoundedRecords {
    max: usize,
}

impl<'de> Visitor<'de> for BoundedRecords {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of KumoMTA records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::new();
        while let Some(record) = seq.next_element_seed(RawRecord)? {
            if records.len() == self.max {
                return Err(de::Error::custom(TOO_MANY));
            }
            records.push(record);
        }
        Ok(records)
    }
}

/// One element of the array, unparsed.
struct RawRecord;

impl<'de> DeserializeSeed<'de> for RawRecord {
    type Value = &'de RawValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        <&'de RawValue>::deserialize(deserializer)
    }
}

fn too_many_records(max: usize) -> ApiError {
    too_large(
        "too many records",
        format!("at most {max} records are accepted per request"),
    )
}

/// A body that is not JSON where record `number` (if known) should be.
fn unreadable(number: Option<usize>, error: &serde_json::Error) -> ApiError {
    let mut entry = ErrorEntry::new("invalid record")
        .description(format!("the body is not KumoMTA records in JSON: {error}"))
        .code("1300");
    if let Some(number) = number {
        entry = entry.record(number);
    }
    if error.line() > 0 {
        entry = entry.line(error.line());
    }
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, entry)
}
