//! The day tables of raw events: names, columns, and the Arrow batches appended to them.
//!
//! One table per UTC day (`events_20261127`). Each row is one event: where its stored form
//! lies in the day's body file (`body`, see [`super::bodies`]) and the values searches filter on, computed once at insert time by the shared definitions
//! (`IndexedEvent`, the keyword tokenizer), so SQL needs only `=`, `IN` and `contains`:
//! exact fields as they are, case-insensitive ones folded, keyword fields as
//! [`Tokenizer::keyword_text`]. `event_id` is a column of its own, so the `event_ids` filter
//! uses it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use duckdb::arrow::array::{ArrayRef, Int64Builder, StringBuilder, UInt64Builder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use eventhose_analytics::keywords::fold_case;
use eventhose_analytics::{Comparison, StoredEvent, TextFilter};

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

/// The column a text filter reads.
pub(crate) fn text_column(filter: TextFilter) -> &'static str {
    match filter {
        TextFilter::EventIds => "event_id",
        TextFilter::Recipients => "f_recipients",
        TextFilter::RecipientDomains => "f_recipient_domains",
        TextFilter::FromAddresses => "f_from_addresses",
        TextFilter::SendingDomains => "f_sending_domains",
        TextFilter::Subjects => "f_subjects",
        TextFilter::Reasons => "f_reasons",
        TextFilter::Campaigns => "f_campaigns",
        TextFilter::Templates => "f_templates",
        TextFilter::SendingIps => "f_sending_ips",
        TextFilter::IpPools => "f_ip_pools",
        TextFilter::Messages => "f_messages",
        TextFilter::Transmissions => "f_transmissions",
        TextFilter::MailboxProviders => "f_mailbox_providers",
        TextFilter::MailboxProviderRegions => "f_mailbox_provider_regions",
        TextFilter::AbTests => "f_ab_tests",
    }
}

/// The hash column beside a lookup filter's column: a 64-bit hash of the column's value, which
/// a scan compares far faster than text; searches select by it alone (see `filter_sql`).
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

/// The text filters with a column of their own (`event_ids` reads `event_id`).
fn filter_columns() -> impl Iterator<Item = TextFilter> {
    TextFilter::ALL
        .into_iter()
        .filter(|f| *f != TextFilter::EventIds)
}

/// Every column of a day table, in order, with its SQL type and nullability.
fn columns() -> Vec<(&'static str, &'static str, bool)> {
    let mut out = vec![
        ("seq", "UBIGINT", false),
        ("ts", "BIGINT", false),
        ("event_id", "VARCHAR", false),
        ("type", "VARCHAR", false),
        ("subaccount", "UBIGINT", true),
        ("bounce_class", "UBIGINT", true),
        ("ab_test_version", "UBIGINT", true),
        // `raw_rcpt_to` folded, where it differs from the folded `rcpt_to` (for erasure).
        ("raw_rcpt", "VARCHAR", true),
        ("h_event_id", "UBIGINT", false),
        ("h_recipient", "UBIGINT", true),
        ("h_message", "UBIGINT", true),
    ];
    out.extend(filter_columns().map(|f| (text_column(f), "VARCHAR", true)));
    out.push(("body", "UBIGINT", false));
    out
}

/// The column names of a day table, in order, comma-separated.
pub(crate) fn column_list() -> String {
    columns()
        .iter()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
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
                "BIGINT" => DataType::Int64,
                _ => DataType::Utf8,
            };
            Field::new(name, data_type, nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// What a text filter's column holds for a value.
fn column_value(filter: TextFilter, text: &str) -> String {
    match filter.comparison() {
        Comparison::Exact => text.to_owned(),
        Comparison::Caseless => fold_case(text),
        Comparison::Keywords(tokenizer) => tokenizer.keyword_text(text),
    }
}

/// Rows for one day table, built column by column.
pub(crate) struct DayRows {
    seq: UInt64Builder,
    ts: Int64Builder,
    event_id: StringBuilder,
    event_type: StringBuilder,
    subaccount: UInt64Builder,
    bounce_class: UInt64Builder,
    ab_test_version: UInt64Builder,
    raw_rcpt: StringBuilder,
    hashes: [UInt64Builder; 3],
    texts: Vec<StringBuilder>,
    body: UInt64Builder,
}

impl DayRows {
    /// Room for `rows` rows: one allocation per column instead of a chain of doublings, each
    /// copying what came before.
    pub(crate) fn with_capacity(rows: usize) -> DayRows {
        let text = |bytes_per_row: usize| StringBuilder::with_capacity(rows, rows * bytes_per_row);
        DayRows {
            seq: UInt64Builder::with_capacity(rows),
            ts: Int64Builder::with_capacity(rows),
            event_id: text(24),
            event_type: text(12),
            subaccount: UInt64Builder::with_capacity(rows),
            bounce_class: UInt64Builder::with_capacity(rows),
            ab_test_version: UInt64Builder::with_capacity(rows),
            raw_rcpt: text(0),
            hashes: std::array::from_fn(|_| UInt64Builder::with_capacity(rows)),
            texts: filter_columns().map(|_| text(16)).collect(),
            body: UInt64Builder::with_capacity(rows),
        }
    }

    /// Adds one event with its sequence number and the location of its stored form.
    pub(crate) fn push(&mut self, seq: u64, event: &StoredEvent, body: u64) {
        let ix = &event.indexed;
        self.seq.append_value(seq);
        self.ts.append_value(ix.timestamp);
        self.event_id.append_value(&ix.event_id);
        self.event_type.append_value(ix.event_type.as_str());
        self.subaccount.append_option(ix.subaccount);
        self.bounce_class.append_option(ix.bounce_class);
        self.ab_test_version.append_option(ix.ab_test_version);
        // `recipients` holds the folded `rcpt_to` (when there is one), then `raw_rcpt_to`
        // when it differs.
        let (rcpt, raw_rcpt) = match ix.text(TextFilter::Recipients) {
            Some(_) => (ix.recipients.first(), ix.recipients.get(1)),
            None => (None, ix.recipients.first()),
        };
        self.raw_rcpt.append_option(raw_rcpt);
        let [event_id, recipient, message] = &mut self.hashes;
        event_id.append_value(lookup_hash(&ix.event_id));
        recipient.append_option(rcpt.map(|r| lookup_hash(r)));
        message.append_option(ix.text(TextFilter::Messages).map(lookup_hash));
        for (builder, filter) in self.texts.iter_mut().zip(filter_columns()) {
            match (filter, ix.text(filter)) {
                (TextFilter::Recipients, _) => builder.append_option(rcpt),
                (_, Some(text)) => builder.append_value(column_value(filter, text)),
                (_, None) => builder.append_null(),
            }
        }
        self.body.append_value(body);
    }

    /// The rows as one Arrow batch in table column order.
    pub(crate) fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.subaccount.finish()),
            Arc::new(self.bounce_class.finish()),
            Arc::new(self.ab_test_version.finish()),
            Arc::new(self.raw_rcpt.finish()),
        ];
        arrays.extend(
            self.hashes
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        arrays.extend(
            self.texts
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
        rows.push(1, &event, 42);
        let batch = rows.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let column = |name: &str| {
            let i = columns.iter().position(|c| c.0 == name).unwrap();
            let array = batch.column(i);
            duckdb::arrow::array::as_string_array(array)
                .value(0)
                .to_owned()
        };
        assert_eq!(column("f_campaigns"), " spring sale ");
        assert_eq!(column("f_recipients"), "a@b.com");
        assert!(batch.column(7).is_null(0), "raw_rcpt_to folds to rcpt_to");
    }
}
