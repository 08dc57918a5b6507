//! The per-day dictionaries of the text filter columns.
//!
//! A day table holds a small integer id in place of each dictionary filter's text: DuckDB
//! appends and compresses integers several times faster than strings, and the strings were
//! most of an insert's cost (BENCHMARKS.md). Beside each day table, `{table}_values` maps a
//! filter's ids to the text as events had it (`raw`) and as searches compare it (`value`: as
//! it is, case-folded, or [`Tokenizer::keyword_text`](eventhose_analytics::keywords::Tokenizer)).
//! Ids count up from 0 per day and filter, in order of first appearance; two raw texts with the
//! same compared form get an id each, and a search selects every id whose value matches.
//!
//! The writer keeps the dictionaries of the days it writes in memory (a hash of the raw text →
//! id) and appends the new entries in the transaction that commits the rows using them.

use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, StringBuilder, UInt32Builder, UInt8Builder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use eventhose_analytics::keywords::fold_case;
use eventhose_analytics::{Comparison, TextFilter};
use hashbrown::HashMap;

/// The text filters kept as dictionary ids: all but the lookups by hash (`event_ids`,
/// `recipients`, `messages`: values mostly unique to one event).
pub(crate) fn dictionary_filters() -> impl Iterator<Item = TextFilter> {
    TextFilter::ALL
        .into_iter()
        .filter(|f| super::layout::hash_column(*f).is_none())
}

/// The values table of a day table.
pub(crate) fn values_table(day_table: &str) -> String {
    format!("{day_table}_values")
}

/// `CREATE TABLE IF NOT EXISTS` of a day table's values table. `filter` is
/// [`TextFilter::index`], so the declaration order of the filters is part of the layout.
pub(crate) fn create_values_table(day_table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} \
         (filter UTINYINT NOT NULL, id UINTEGER NOT NULL, raw VARCHAR NOT NULL, value VARCHAR NOT NULL)",
        values_table(day_table)
    )
}

/// The key of a raw text in a dictionary's memory.
fn raw_hash(raw: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(raw.as_bytes())
}

/// What a text filter's searches compare for a value.
pub(crate) fn compared_form(filter: TextFilter, text: &str) -> String {
    match filter.comparison() {
        Comparison::Exact => text.to_owned(),
        Comparison::Caseless => fold_case(text),
        Comparison::Keywords(tokenizer) => tokenizer.keyword_text(text),
    }
}

/// One day's dictionaries, and the entries added since they were last written.
///
/// In memory a dictionary maps the 128-bit hash of a raw text to its id: less than half the
/// memory of keeping the texts, which counts for a field whose values are unique per message
/// (subjects, transmission ids); a collision is out of reach.
#[derive(Default)]
pub(crate) struct DayDictionary {
    ids: [HashMap<u128, u32>; TextFilter::COUNT],
    /// The next id of each filter: past every id the values table holds (an id whose rows and
    /// entry were all erased may be given again, harmlessly).
    next: [u32; TextFilter::COUNT],
    added: Vec<(TextFilter, u32, Box<str>)>,
}

impl DayDictionary {
    /// The dictionaries of `day_table` as committed (empty when it has none yet).
    pub(crate) fn load(conn: &Connection, day_table: &str) -> Result<Self, duckdb::Error> {
        let mut dictionary = DayDictionary::default();
        let exists: bool = conn.query_row(
            "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ?",
            [values_table(day_table)],
            |row| row.get(0),
        )?;
        if !exists {
            return Ok(dictionary);
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT filter, id, raw FROM {}",
            values_table(day_table)
        ))?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, u8>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (filter, id, raw) = row?;
            let filter = usize::from(filter);
            if let (Some(ids), Some(next)) = (
                dictionary.ids.get_mut(filter),
                dictionary.next.get_mut(filter),
            ) {
                ids.insert(raw_hash(&raw), id);
                *next = (*next).max(id.saturating_add(1));
            }
        }
        Ok(dictionary)
    }

    /// The id of `raw` in `filter`'s dictionary, added when new.
    pub(crate) fn id(&mut self, filter: TextFilter, raw: &str) -> u32 {
        let slot = match self.ids[filter.index()].entry(raw_hash(raw)) {
            hashbrown::hash_map::Entry::Occupied(known) => return *known.get(),
            hashbrown::hash_map::Entry::Vacant(slot) => slot,
        };
        // A day holds far fewer than 2^32 distinct values of one field.
        let next = &mut self.next[filter.index()];
        let id = *slot.insert(*next);
        *next = next.saturating_add(1);
        self.added.push((filter, id, raw.into()));
        id
    }

    /// The entries added since the last call, as rows of the values table (`None` when there
    /// are none).
    pub(crate) fn take_added(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.added.is_empty() {
            return Ok(None);
        }
        let added = std::mem::take(&mut self.added);
        let mut filters = UInt8Builder::with_capacity(added.len());
        let mut ids = UInt32Builder::with_capacity(added.len());
        let mut raws = StringBuilder::new();
        let mut values = StringBuilder::new();
        for (filter, id, raw) in &added {
            // A handful of text filters: the index fits a u8.
            #[allow(clippy::cast_possible_truncation)]
            let filter_code = filter.index() as u8;
            filters.append_value(filter_code);
            ids.append_value(*id);
            values.append_value(compared_form(*filter, raw));
            raws.append_value(raw);
        }
        let schema = Schema::new(vec![
            Field::new("filter", DataType::UInt8, false),
            Field::new("id", DataType::UInt32, false),
            Field::new("raw", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(filters.finish()),
            Arc::new(ids.finish()),
            Arc::new(raws.finish()),
            Arc::new(values.finish()),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).map(Some)
    }
}

/// The SQL selecting the ids of `filter` in `day_table`'s dictionary whose value matches any
/// of `wanted`, with its parameters; `None` when nothing can match (no value has keywords).
pub(crate) fn matching_ids_sql(
    day_table: &str,
    filter: TextFilter,
    wanted: &[String],
) -> Option<(String, Vec<String>)> {
    let mut params = Vec::new();
    let condition = match filter.comparison() {
        Comparison::Exact | Comparison::Caseless => {
            params.extend(wanted.iter().map(|w| compared_form(filter, w)));
            format!("value IN ({})", vec!["?"; wanted.len()].join(", "))
        }
        Comparison::Keywords(tokenizer) => {
            let mut alternatives = Vec::new();
            for w in wanted {
                let tokens = tokenizer.tokens(w);
                if tokens.is_empty() {
                    continue;
                }
                let all: Vec<&str> = tokens.iter().map(|_| "contains(value, ?)").collect();
                params.extend(tokens.into_iter().map(|t| format!(" {t} ")));
                alternatives.push(format!("({})", all.join(" AND ")));
            }
            if alternatives.is_empty() {
                return None;
            }
            alternatives.join(" OR ")
        }
    };
    Some((
        format!(
            "SELECT id FROM {} WHERE filter = {} AND ({condition})",
            values_table(day_table),
            filter.index()
        ),
        params,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_per_filter_and_new_entries_are_written_once() {
        let mut dictionary = DayDictionary::default();
        assert_eq!(dictionary.id(TextFilter::Campaigns, "Spring-Sale"), 0);
        assert_eq!(dictionary.id(TextFilter::Campaigns, "spring sale"), 1);
        assert_eq!(dictionary.id(TextFilter::Campaigns, "Spring-Sale"), 0);
        assert_eq!(dictionary.id(TextFilter::Templates, "Spring-Sale"), 0);
        let batch = dictionary.take_added().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let values = duckdb::arrow::array::as_string_array(batch.column(3));
        assert_eq!(values.value(0), " spring sale ");
        assert_eq!(values.value(1), " spring sale ");
        assert!(dictionary.take_added().unwrap().is_none());
        assert_eq!(dictionary.id(TextFilter::Campaigns, "Spring-Sale"), 0);
        assert!(dictionary.take_added().unwrap().is_none());
    }

    #[test]
    fn a_dictionary_loads_as_written() {
        let conn = Connection::open_in_memory().unwrap();
        let table = "events_20261127";
        assert!(DayDictionary::load(&conn, table).unwrap().ids[0].is_empty());
        conn.execute_batch(&create_values_table(table)).unwrap();
        let mut written = DayDictionary::default();
        written.id(TextFilter::FromAddresses, "A@B.com");
        written.id(TextFilter::FromAddresses, "c@d.com");
        let batch = written.take_added().unwrap().unwrap();
        let mut appender = conn.appender(&values_table(table)).unwrap();
        appender.append_record_batch(batch).unwrap();
        appender.flush().unwrap();
        drop(appender);
        let mut loaded = DayDictionary::load(&conn, table).unwrap();
        assert_eq!(loaded.id(TextFilter::FromAddresses, "c@d.com"), 1);
        assert_eq!(loaded.id(TextFilter::FromAddresses, "e@f.com"), 2);
        assert!(loaded.take_added().unwrap().is_some());
        let (sql, params) =
            matching_ids_sql(table, TextFilter::FromAddresses, &["a@b.COM".into()]).unwrap();
        let params: Vec<&dyn duckdb::ToSql> =
            params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        let id: u32 = conn
            .query_row(&sql, params.as_slice(), |r| r.get(0))
            .unwrap();
        assert_eq!(id, 0);
    }

    #[test]
    fn values_without_keywords_match_nothing() {
        assert!(
            matching_ids_sql("events_20261127", TextFilter::Campaigns, &["--".into()]).is_none()
        );
    }
}
