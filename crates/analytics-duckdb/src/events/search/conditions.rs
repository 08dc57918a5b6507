//! The WHERE clause of a search on one day table: the snapshot, the filters (dictionary
//! filters turned into the day's matching ids), and the event type condition only where it
//! excludes something.

use std::sync::atomic::Ordering;

use duckdb::{Connection, ToSql};
use eventhose_analytics::{AnalyticsError, EventFilters, TextFilter};
use eventhose_model::EventType;

use crate::events::types_held::TypeSet;
use crate::events::{dictionary, layout, query_column};
use crate::DuckStore;

/// The WHERE clause of the filters on day table `table`, with its parameters; the event type
/// condition only when `by_type` (see [`types_held`](crate::events::types_held)). Dictionary
/// filters are turned into the day's matching ids first.
fn filter_sql(
    conn: &Connection,
    table: &str,
    filters: &EventFilters,
    by_type: bool,
) -> Result<(String, Vec<Box<dyn ToSql>>), AnalyticsError> {
    let mut sql = Sql::default();
    if by_type {
        sql.any_of(
            "type",
            filters
                .event_types
                .iter()
                .map(|t| boxed_value(layout::type_code(*t)))
                .collect(),
        );
    }
    sql.any_of("bounce_class", boxed(&filters.bounce_classes));
    sql.any_of("subaccount", boxed(&filters.subaccounts));
    sql.any_of("ab_test_version", boxed(&filters.ab_test_versions));
    for filter in TextFilter::ALL {
        let wanted = filters.text(filter);
        if wanted.is_empty() {
            continue;
        }
        if let Some(hash_column) = layout::hash_column(filter) {
            // The hash alone selects: comparing the text as well would make DuckDB read
            // strings for every row of the day. The rows of a page are checked against the
            // filters once read (`search_events`).
            let hashes = wanted
                .iter()
                .map(|w| boxed_value(layout::lookup_hash(&dictionary::compared_form(filter, w))));
            sql.any_of(hash_column, hashes.collect());
            continue;
        }
        let Some(column) = layout::id_column(filter) else {
            continue;
        };
        let Some((ids_sql, params)) = dictionary::matching_ids_sql(table, filter, wanted) else {
            sql.parts.push("FALSE".into());
            continue;
        };
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let ids: Vec<u32> = query_column(conn, &ids_sql, &refs)?;
        if ids.is_empty() {
            sql.parts.push("FALSE".into());
        } else if ids.len() <= INLINE_IDS {
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            sql.parts.push(format!("{column} IN ({})", list.join(", ")));
        } else {
            sql.parts.push(format!("{column} IN ({ids_sql})"));
            sql.params.extend(params.into_iter().map(boxed_value));
        }
    }
    let where_sql = if sql.parts.is_empty() {
        "TRUE".to_owned()
    } else {
        sql.parts.join(" AND ")
    };
    Ok((where_sql, sql.params))
}

/// Up to this many matching ids are written into a search's SQL as constants (which DuckDB
/// checks against each row group's bounds); more are selected by a subquery.
const INLINE_IDS: usize = 256;

/// Whether `filters` name a lookup whose SQL compares hashes only (see [`filter_sql`]).
pub(super) fn selects_by_hash(filters: &EventFilters) -> bool {
    TextFilter::ALL
        .into_iter()
        .any(|f| layout::hash_column(f).is_some() && !filters.text(f).is_empty())
}

/// Conditions (ANDed) and their parameters, in order.
#[derive(Default)]
struct Sql {
    parts: Vec<String>,
    params: Vec<Box<dyn ToSql>>,
}

impl Sql {
    /// `column IN (values)`; nothing when there are no values.
    fn any_of(&mut self, column: &str, values: Vec<Box<dyn ToSql>>) {
        if values.is_empty() {
            return;
        }
        self.parts.push(format!(
            "{column} IN ({})",
            vec!["?"; values.len()].join(", ")
        ));
        self.params.extend(values);
    }
}

fn boxed_value<T: ToSql + 'static>(value: T) -> Box<dyn ToSql> {
    Box::new(value)
}

fn boxed(values: &[u64]) -> Vec<Box<dyn ToSql>> {
    values
        .iter()
        .map(|v| Box::new(*v) as Box<dyn ToSql>)
        .collect()
}

/// One day's conditions of a search, ANDed after its time range, with their parameters.
pub(super) struct DayConditions {
    /// The SQL: `seq <= snapshot AND (filters)`.
    pub(super) sql: String,
    params: Vec<Box<dyn ToSql>>,
}

impl DayConditions {
    /// The parameters, in the order of their placeholders in [`DayConditions::sql`].
    pub(super) fn params(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|p| p.as_ref()).collect()
    }
}

impl DuckStore {
    /// The conditions of a search with `filters` on day table `table`, for the rows up to
    /// `snapshot`: the type condition only where it excludes something.
    pub(super) fn day_conditions(
        &self,
        conn: &Connection,
        table: &str,
        filters: &EventFilters,
        snapshot: u64,
    ) -> Result<DayConditions, AnalyticsError> {
        let by_type = self.type_condition_needed(conn, table, &filters.event_types, snapshot)?;
        let (filter, params) = filter_sql(conn, table, filters, by_type)?;
        Ok(DayConditions {
            sql: format!("seq <= {snapshot} AND ({filter})"),
            params,
        })
    }

    /// Whether a search for `wanted` types (none: any type) needs the type condition on
    /// `table`: whether its rows up to `snapshot` hold a type outside `wanted`.
    fn type_condition_needed(
        &self,
        conn: &Connection,
        table: &str,
        wanted: &[EventType],
        snapshot: u64,
    ) -> Result<bool, AnalyticsError> {
        if wanted.is_empty() {
            return Ok(false);
        }
        let wanted = TypeSet::of(wanted.iter().copied());
        if let Some(held) = self.event_types.get(table, snapshot) {
            return Ok(!held.is_subset(wanted));
        }
        // Every row up to `through` is visible to the query that follows.
        let through = self.event_sequence.load(Ordering::Acquire);
        let sql = format!("SELECT DISTINCT type FROM {table}");
        let mut held = TypeSet::default();
        for code in query_column::<u8>(conn, &sql, &[])? {
            match layout::type_of_code(code) {
                Some(event_type) => held.insert(event_type),
                // A type this build does not know: keep the condition, remember nothing.
                None => return Ok(true),
            }
        }
        self.event_types.loaded(table, held, through);
        Ok(!held.is_subset(wanted))
    }
}
