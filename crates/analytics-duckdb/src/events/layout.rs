//! The day tables of raw events: names, columns, and the Arrow batches appended to them.
//!
//! One table per UTC day (`events_20261127`). Each row is one event: where its stored form
//! lies in the day's body file (`body`, see [`super::bodies`]) and the values searches filter
//! on, read once at insert time by the shared definitions (`IndexedEvent`): the integer
//! fields, a 64-bit hash for each lookup filter (`event_ids`, `recipients`, `messages`, and
//! `raw_rcpt_to` for erasure), and for every other text filter an id in the day's dictionary
//! of that filter (see [`super::dictionary`]). The event type is a one-byte code
//! ([`type_code`]); ties in the order of a page are broken by the insertion sequence number
//! `seq`, so no text is stored at all.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use duckdb::arrow::array::{ArrayRef, Int64Builder, UInt32Builder, UInt64Builder, UInt8Builder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use eventhose_analytics::{StoredEvent, TextFilter};
use eventhose_model::EventType;

use super::dictionary::{dictionary_filters, DayDictionary};

pub(crate) const DAY: i64 = 86_400;

/// The day table of unix day `day`.
pub(crate) fn day_table(day: i64) -> String {
    let date = DateTime::<Utc>::from_timestamp(day * DAY, 0)
        .unwrap_or_default()
        .date_naive();
    format!("events_{}", date.format("%Y%m%d"))
}

/// The unix day of a day table's name.
pub(crate) fn parse_day_table(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("events_")?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(
        date.and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp()
            .div_euclid(DAY),
    )
}

/// The id column of a dictionary filter (`None` for the lookups by hash).
pub(crate) fn id_column(filter: TextFilter) -> Option<&'static str> {
    Some(match filter {
        TextFilter::EventIds | TextFilter::Recipients | TextFilter::Messages => return None,
        TextFilter::RecipientDomains => "f_recipient_domains",
        TextFilter::FromAddresses => "f_from_addresses",
        TextFilter::SendingDomains => "f_sending_domains",
        TextFilter::Subjects => "f_subjects",
        TextFilter::Reasons => "f_reasons",
        TextFilter::Campaigns => "f_campaigns",
        TextFilter::Templates => "f_templates",
        TextFilter::SendingIps => "f_sending_ips",
        TextFilter::IpPools => "f_ip_pools",
        TextFilter::Transmissions => "f_transmissions",
        TextFilter::MailboxProviders => "f_mailbox_providers",
        TextFilter::MailboxProviderRegions => "f_mailbox_provider_regions",
        TextFilter::AbTests => "f_ab_tests",
    })
}

/// The hash column of a lookup filter: a 64-bit hash of the (folded) value, which a scan
/// compares far faster than text; a page's rows are checked against the filters once read, so
/// only a count could be off, by a hash collision.
pub(crate) fn hash_column(filter: TextFilter) -> Option<&'static str> {
    match filter {
        TextFilter::EventIds => Some("h_event_id"),
        TextFilter::Recipients => Some("h_recipient"),
        TextFilter::Messages => Some("h_message"),
        _ => None,
    }
}

/// The hash a [`hash_column`] holds for a column value.
pub(crate) fn lookup_hash(value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(value.as_bytes())
}

/// The code of an event type in the `type` column: its position in [`EventType::ALL`], which
/// only ever grows at the end (a test pins the codes).
// At most 32 types (see `TypeSet`): the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn type_code(event_type: EventType) -> u8 {
    event_type.index() as u8
}

/// The event type of a `type` column code; `None` for a code this build does not know.
pub(crate) fn type_of_code(code: u8) -> Option<EventType> {
    EventType::ALL.get(usize::from(code)).copied()
}

/// Every column of a day table, in order, with its SQL type and nullability.
fn columns() -> Vec<(&'static str, &'static str, bool)> {
    let mut out = vec![
        ("seq", "UBIGINT", false),
        ("ts", "BIGINT", false),
        ("type", "UTINYINT", false),
        ("subaccount", "UBIGINT", true),
        ("bounce_class", "UBIGINT", true),
        ("ab_test_version", "UBIGINT", true),
        // The hash of `raw_rcpt_to` folded, where it differs from the folded `rcpt_to` (for
        // erasure).
        ("h_raw_rcpt", "UBIGINT", true),
        ("h_event_id", "UBIGINT", false),
        ("h_recipient", "UBIGINT", true),
        ("h_message", "UBIGINT", true),
    ];
    out.extend(dictionary_filters().filter_map(|f| Some((id_column(f)?, "UINTEGER", true))));
    out.push(("body", "UBIGINT", false));
    out
}

/// The columns of a day table, in order, each as `name TYPE`, comma-separated.
pub(crate) fn column_list() -> String {
    columns()
        .iter()
        .map(|(name, sql_type, _)| format!("{name} {sql_type}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of the layout before this one ([`column_list`]'s form), which kept `event_id`
/// as text and the type as its name; [`upgrade_from_previous`] turns such a table into this
/// layout in place.
pub(crate) fn previous_column_list() -> String {
    column_list().replacen("type UTINYINT", "event_id VARCHAR, type VARCHAR", 1)
}

/// SQL turning day table `name` of the previous layout into this one.
pub(crate) fn upgrade_from_previous(name: &str) -> String {
    let codes: String = EventType::ALL
        .iter()
        .map(|t| format!(" WHEN '{}' THEN {}", t.as_str(), type_code(*t)))
        .collect();
    format!(
        "ALTER TABLE {name} DROP COLUMN event_id; \
         ALTER TABLE {name} ALTER COLUMN type SET DATA TYPE UTINYINT USING (CASE type{codes} END);"
    )
}

/// `CREATE TABLE IF NOT EXISTS` of a day table.
pub(crate) fn create_day_table(name: &str) -> String {
    let columns = columns()
        .iter()
        .map(|(column, sql_type, nullable)| {
            let null = if *nullable { "" } else { " NOT NULL" };
            format!("{column} {sql_type}{null}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("CREATE TABLE IF NOT EXISTS {name} ({columns})")
}

/// The Arrow schema of a day table's rows.
fn schema() -> Arc<Schema> {
    let fields: Vec<Field> = columns()
        .into_iter()
        .map(|(name, sql_type, nullable)| {
            let data_type = match sql_type {
                "UBIGINT" => DataType::UInt64,
                "UINTEGER" => DataType::UInt32,
                "UTINYINT" => DataType::UInt8,
                // BIGINT, the one other type the columns use.
                _ => DataType::Int64,
            };
            Field::new(name, data_type, nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Rows for one day table, built column by column.
pub(crate) struct DayRows {
    seq: UInt64Builder,
    ts: Int64Builder,
    event_type: UInt8Builder,
    subaccount: UInt64Builder,
    bounce_class: UInt64Builder,
    ab_test_version: UInt64Builder,
    hashes: [UInt64Builder; 4],
    ids: Vec<UInt32Builder>,
    body: UInt64Builder,
}

impl DayRows {
    /// Room for `rows` rows: one allocation per column instead of a chain of doublings, each
    /// copying what came before.
    pub(crate) fn with_capacity(rows: usize) -> DayRows {
        DayRows {
            seq: UInt64Builder::with_capacity(rows),
            ts: Int64Builder::with_capacity(rows),
            event_type: UInt8Builder::with_capacity(rows),
            subaccount: UInt64Builder::with_capacity(rows),
            bounce_class: UInt64Builder::with_capacity(rows),
            ab_test_version: UInt64Builder::with_capacity(rows),
            hashes: std::array::from_fn(|_| UInt64Builder::with_capacity(rows)),
            ids: dictionary_filters()
                .map(|_| UInt32Builder::with_capacity(rows))
                .collect(),
            body: UInt64Builder::with_capacity(rows),
        }
    }

    /// Adds one event with its sequence number and the location of its stored form; its text
    /// values get their ids from the day's `dictionary`.
    pub(crate) fn push(
        &mut self,
        seq: u64,
        event: &StoredEvent,
        body: u64,
        dictionary: &mut DayDictionary,
    ) {
        let ix = &event.indexed;
        self.seq.append_value(seq);
        self.ts.append_value(ix.timestamp);
        self.event_type.append_value(type_code(ix.event_type));
        self.subaccount.append_option(ix.subaccount);
        self.bounce_class.append_option(ix.bounce_class);
        self.ab_test_version.append_option(ix.ab_test_version);
        // `recipients` holds the folded `rcpt_to` (when there is one), then `raw_rcpt_to`
        // when it differs.
        let (rcpt, raw_rcpt) = match ix.text(TextFilter::Recipients) {
            Some(_) => (ix.recipients.first(), ix.recipients.get(1)),
            None => (None, ix.recipients.first()),
        };
        let [raw_recipient, event_id, recipient, message] = &mut self.hashes;
        raw_recipient.append_option(raw_rcpt.map(|r| lookup_hash(r)));
        event_id.append_value(lookup_hash(&ix.event_id));
        recipient.append_option(rcpt.map(|r| lookup_hash(r)));
        message.append_option(ix.text(TextFilter::Messages).map(lookup_hash));
        for (builder, filter) in self.ids.iter_mut().zip(dictionary_filters()) {
            builder.append_option(ix.text(filter).map(|text| dictionary.id(filter, text)));
        }
        self.body.append_value(body);
    }

    /// The rows as one Arrow batch in table column order.
    pub(crate) fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.subaccount.finish()),
            Arc::new(self.bounce_class.finish()),
            Arc::new(self.ab_test_version.finish()),
        ];
        arrays.extend(
            self.hashes
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        arrays.extend(
            self.ids
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        arrays.push(Arc::new(self.body.finish()));
        RecordBatch::try_new(schema(), arrays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_tables_round_trip() {
        assert_eq!(day_table(0), "events_19700101");
        assert_eq!(parse_day_table(&day_table(20_000)), Some(20_000));
        assert_eq!(parse_day_table("events_x"), None);
    }

    #[test]
    fn type_codes_never_change() {
        // Stored codes: a new type may only be added at the end.
        let names: Vec<&str> = (0..u8::try_from(EventType::COUNT).unwrap())
            .map(|code| type_of_code(code).unwrap().as_str())
            .collect();
        assert_eq!(
            names,
            [
                "injection",
                "delivery",
                "bounce",
                "delay",
                "policy_rejection",
                "out_of_band",
                "spam_complaint",
                "sms_status",
                "open",
                "initial_open",
                "click",
                "amp_open",
                "amp_initial_open",
                "amp_click",
                "generation_failure",
                "generation_rejection",
                "list_unsubscribe",
                "link_unsubscribe",
                "relay_injection",
                "relay_rejection",
                "relay_delivery",
                "relay_tempfail",
                "relay_permfail",
                "ab_test_completed",
                "ab_test_cancelled",
                "success",
                "error",
            ]
        );
        for event_type in EventType::ALL {
            assert_eq!(type_of_code(type_code(event_type)), Some(event_type));
        }
        assert_eq!(type_of_code(u8::try_from(EventType::COUNT).unwrap()), None);
    }

    #[test]
    fn every_text_filter_has_a_hash_or_an_id_column() {
        for filter in TextFilter::ALL {
            assert_ne!(
                hash_column(filter).is_some(),
                id_column(filter).is_some(),
                "{filter:?}"
            );
        }
        assert_eq!(
            dictionary_filters().count(),
            TextFilter::ALL.into_iter().filter_map(id_column).count()
        );
    }

    #[test]
    fn the_batch_matches_the_table() {
        let columns = columns();
        let schema = schema();
        assert_eq!(schema.fields().len(), columns.len());
        let event = StoredEvent {
            indexed: eventhose_analytics::IndexedEvent::from_stored(
                br#"{"type":"open","timestamp":"7","event_id":"e","rcpt_to":"A@B.com","raw_rcpt_to":"a@b.com","campaign_id":"Spring-Sale"}"#,
            )
            .unwrap(),
            json: "{}".into(),
        };
        let mut rows = DayRows::with_capacity(1);
        let mut dictionary = DayDictionary::default();
        dictionary.id(TextFilter::Campaigns, "Fall");
        rows.push(1, &event, 42, &mut dictionary);
        let batch = rows.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let column = |name: &str| {
            let i = columns.iter().position(|c| c.0 == name).unwrap();
            batch.column(i).clone()
        };
        let campaign = column("f_campaigns");
        let campaign = duckdb::arrow::array::as_primitive_array::<
            duckdb::arrow::datatypes::UInt32Type,
        >(&campaign);
        assert_eq!(campaign.value(0), 1, "the second campaign of the day");
        let recipient = column("h_recipient");
        let recipient = duckdb::arrow::array::as_primitive_array::<
            duckdb::arrow::datatypes::UInt64Type,
        >(&recipient);
        assert_eq!(recipient.value(0), lookup_hash("a@b.com"));
        assert!(
            column("h_raw_rcpt").is_null(0),
            "raw_rcpt_to folds to rcpt_to"
        );
        assert!(column("f_templates").is_null(0));
    }
}
