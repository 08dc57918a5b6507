//! The read side: each query reads the coarsest partitions that cover its range exactly, and of
//! those the narrowest rollup that keeps every dimension it filters or groups by.

use duckdb::{Connection, ToSql};
use eventhose_analytics::{
    group_rows, needed_counters, segments, split, AnalyticsError, BreakdownGrouping,
    BreakdownQuery, BreakdownRow, Counters, Dimension, Filter, Grouping, MetricsQuery,
    MetricsReader, MetricsRow, Segment, TimeRange, ValuesQuery,
};

use crate::layout::{self, Family, Partition, Rollup};
use crate::sql::{escape_like, filter_sql, Predicate};
use crate::{engine, DuckStore};

fn unix(range: &TimeRange) -> (i64, i64) {
    (range.from.timestamp(), range.to.timestamp())
}

/// `SELECT {columns} FROM <partition> WHERE <segment> AND <filter> [AND extra]`, for every
/// partition of every segment, joined with UNION ALL; `None` when no partition exists.
struct Union<'p> {
    sql: String,
    params: Vec<&'p dyn ToSql>,
}

impl DuckStore {
    fn union<'p>(
        &self,
        family: Family,
        rollup: Rollup,
        segments: &[Segment],
        columns: &str,
        predicate: &'p Predicate,
        extra: &str,
    ) -> Option<Union<'p>> {
        let mut parts = Vec::new();
        let mut params: Vec<&'p dyn ToSql> = Vec::new();
        for segment in segments {
            let mut month = layout::month_of(segment.lo);
            let last = layout::month_of(segment.hi - 1);
            loop {
                let name = Partition {
                    family,
                    g: segment.g,
                    month,
                    rollup: rollup.at(segment.g),
                }
                .name();
                if self.has_table(&name) {
                    parts.push(format!(
                        "SELECT {columns} FROM {name} WHERE bucket >= {} AND bucket < {} AND ({}){extra}",
                        segment.lo, segment.hi, predicate.sql
                    ));
                    params.extend(predicate.params.iter().map(|p| p.as_ref()));
                }
                if month >= last {
                    break;
                }
                month = layout::next_month(month.0, month.1);
            }
        }
        (!parts.is_empty()).then(|| Union {
            sql: parts.join(" UNION ALL "),
            params,
        })
    }
}

/// The narrowest rollup that keeps the dimensions of `filter` and of `more`.
fn rollup_for(filter: &Filter, more: Option<Dimension>) -> Rollup {
    Rollup::covering(
        filter
            .groups
            .iter()
            .flat_map(|g| g.conditions.iter().map(|c| c.dimension))
            .chain(more),
    )
}

fn dimension_text(dimension: Dimension) -> String {
    match dimension {
        Dimension::Subaccount => format!("CAST({} AS VARCHAR)", dimension.column()),
        other => other.column().to_owned(),
    }
}

fn run<T>(
    conn: &Connection,
    union: &Union<'_>,
    sql: &str,
    read: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>, AnalyticsError> {
    let mut stmt = conn.prepare(sql).map_err(engine)?;
    let rows = stmt
        .query_map(union.params.as_slice(), read)
        .map_err(engine)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(engine)?;
    Ok(rows)
}

impl MetricsReader for DuckStore {
    fn metrics(&self, query: &MetricsQuery) -> Result<Vec<MetricsRow>, AnalyticsError> {
        let segments = segments(query)?;
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let key = match &query.grouping {
            Grouping::Total => "''".to_owned(),
            Grouping::By(dimension) => dimension_text(*dimension),
            Grouping::Time(_) => "CAST(bucket AS VARCHAR)".to_owned(),
        };
        let counters = needed_counters(query);
        let columns = std::iter::once(format!("{key} AS k"))
            .chain(counters.iter().map(|c| c.column().to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let predicate = filter_sql(&query.filter)?;
        let grouped_by = match &query.grouping {
            Grouping::By(dimension) => Some(*dimension),
            _ => None,
        };
        let rollup = rollup_for(&query.filter, grouped_by);
        let Some(union) = self.union(Family::Metrics, rollup, &segments, &columns, &predicate, "")
        else {
            return Ok(Vec::new());
        };
        let sums = counters
            .iter()
            .map(|c| format!("SUM({})::UBIGINT", c.column()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT k, {sums} FROM ({}) GROUP BY k", union.sql);
        let rows = self.with_reader(|conn| {
            run(conn, &union, &sql, |row| {
                let key: String = row.get(0)?;
                let mut summed = Counters::default();
                for (i, counter) in counters.iter().enumerate() {
                    summed.add(*counter, row.get::<_, u64>(i + 1)?);
                }
                Ok((key, summed))
            })
        })?;
        Ok(group_rows(&query.grouping, rows))
    }

    fn breakdown(&self, query: &BreakdownQuery) -> Result<Vec<BreakdownRow>, AnalyticsError> {
        query.range.check()?;
        let (from, to) = unix(&query.range);
        if from >= to {
            return Ok(Vec::new());
        }
        let (label, domain) = match query.grouping {
            BreakdownGrouping::Label => ("label", "''"),
            BreakdownGrouping::LabelAndDomain => ("label", "domain"),
            BreakdownGrouping::Class => ("''", "''"),
        };
        let columns = format!("{label} AS l, class, {domain} AS d, c0, c1, c2, c3");
        let predicate = filter_sql(&query.filter)?;
        let extra = format!(" AND kind = {}", query.kind.code());
        let by_domain = query.grouping == BreakdownGrouping::LabelAndDomain;
        let rollup = rollup_for(&query.filter, by_domain.then_some(Dimension::Domain));
        let Some(union) = self.union(
            Family::Breakdowns,
            rollup,
            &split(from, to),
            &columns,
            &predicate,
            &extra,
        ) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT l, class, d, SUM(c0)::UBIGINT, SUM(c1)::UBIGINT, SUM(c2)::UBIGINT, SUM(c3)::UBIGINT \
             FROM ({}) GROUP BY l, class, d ORDER BY l, class, d",
            union.sql
        );
        self.with_reader(|conn| {
            run(conn, &union, &sql, |row| {
                let domain: String = row.get(2)?;
                Ok(BreakdownRow {
                    label: row.get(0)?,
                    class: row.get(1)?,
                    domain: by_domain.then_some(domain),
                    counts: [row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?],
                })
            })
        })
    }

    fn values(&self, query: &ValuesQuery) -> Result<Vec<String>, AnalyticsError> {
        query.range.check()?;
        let (from, to) = unix(&query.range);
        if from >= to || query.limit == 0 {
            return Ok(Vec::new());
        }
        let columns = format!("{} AS v", dimension_text(query.dimension));
        let predicate = filter_sql(&query.filter)?;
        let rollup = rollup_for(&query.filter, Some(query.dimension));
        let Some(mut union) = self.union(
            Family::Metrics,
            rollup,
            &split(from, to),
            &columns,
            &predicate,
            "",
        ) else {
            return Ok(Vec::new());
        };
        let pattern = query
            .contains
            .as_ref()
            .map(|text| format!("%{}%", escape_like(text)));
        let matching = match &pattern {
            Some(pattern) => {
                union.params.push(pattern);
                " AND v ILIKE ? ESCAPE '\\'"
            }
            None => "",
        };
        let sql = format!(
            "SELECT DISTINCT v FROM ({}) WHERE v <> ''{matching} ORDER BY v LIMIT {}",
            union.sql, query.limit
        );
        self.with_reader(|conn| run(conn, &union, &sql, |row| row.get(0)))
    }
}
