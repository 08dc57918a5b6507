//! The read side: each query reads the coarsest partitions that cover its range exactly, and of
//! those the narrowest rollup that keeps every dimension it filters or groups by.

use std::collections::HashMap;

use duckdb::{Connection, ToSql};
use eventhose_analytics::{
    AnalyticsError, BreakdownGrouping, BreakdownQuery, BreakdownRow, Counter, Counters, Dimension,
    Filter, GroupKey, Grouping, MetricsQuery, MetricsReader, MetricsRow, TimeRange, ValuesQuery,
};

use crate::layout::{self, Family, Granularity, Partition, Rollup};
use crate::sql::{escape_like, filter_sql, Predicate};
use crate::{engine, DuckStore};

/// A half-open range `[lo, hi)` of unix seconds read at one granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    g: Granularity,
    lo: i64,
    hi: i64,
}

/// Splits `[from, to)` into minute, hour and day segments: whole days from the day partitions,
/// whole hours around them from the hour partitions, the minutes at the edges from the minute
/// partitions.
fn split(from: i64, to: i64) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut push = |g, lo: i64, hi: i64| {
        if lo < hi {
            out.push(Segment { g, lo, hi });
        }
    };
    let (d0, d1) = (Granularity::Day.ceil(from), Granularity::Day.floor(to));
    let (h0, h1) = (Granularity::Hour.ceil(from), Granularity::Hour.floor(to));
    if d0 < d1 {
        push(Granularity::Minute, from, h0);
        push(Granularity::Hour, h0, d0);
        push(Granularity::Day, d0, d1);
        push(Granularity::Hour, d1, h1);
        push(Granularity::Minute, h1, to);
    } else if h0 < h1 {
        push(Granularity::Minute, from, h0);
        push(Granularity::Hour, h0, h1);
        push(Granularity::Minute, h1, to);
    } else {
        push(Granularity::Minute, from, to);
    }
    out
}

/// The coarsest granularity every boundary is a multiple of.
fn aligned(boundaries: impl Iterator<Item = i64> + Clone) -> Granularity {
    [Granularity::Day, Granularity::Hour]
        .into_iter()
        .find(|g| boundaries.clone().all(|b| b % g.seconds() == 0))
        .unwrap_or(Granularity::Minute)
}

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

fn needed_counters(query: &MetricsQuery) -> Vec<Counter> {
    let mut counters: Vec<Counter> = if query.metrics.is_empty() {
        Counter::ALL.to_vec()
    } else {
        query
            .metrics
            .iter()
            .flat_map(|m| m.counters().iter().copied())
            .collect()
    };
    counters.sort_by_key(|c| c.index());
    counters.dedup();
    counters
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
        query.range.check()?;
        if let Grouping::Time(starts) = &query.grouping {
            eventhose_analytics::check_buckets(&query.range, starts)?;
        }
        let (from, to) = unix(&query.range);
        if from >= to {
            return Ok(Vec::new());
        }
        let segments = match &query.grouping {
            Grouping::Time(starts) => {
                let g = aligned(starts.iter().map(|s| s.timestamp()).chain([from, to]));
                vec![Segment {
                    g,
                    lo: from,
                    hi: to,
                }]
            }
            _ => split(from, to),
        };
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
        Ok(match &query.grouping {
            Grouping::Total => rows
                .into_iter()
                .map(|(_, counters)| MetricsRow {
                    key: GroupKey::Total,
                    counters,
                })
                .collect(),
            Grouping::By(_) => rows
                .into_iter()
                .map(|(key, counters)| MetricsRow {
                    key: GroupKey::Value(key),
                    counters,
                })
                .collect(),
            Grouping::Time(starts) => into_buckets(starts, rows),
        })
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

/// Folds rows keyed by partition bucket into the caller's time buckets.
fn into_buckets(
    starts: &[chrono::DateTime<chrono::Utc>],
    rows: Vec<(String, Counters)>,
) -> Vec<MetricsRow> {
    let mut merged: HashMap<usize, Counters> = HashMap::new();
    for (bucket, counters) in rows {
        let Ok(t) = bucket.parse::<i64>() else {
            continue;
        };
        let i = starts.partition_point(|s| s.timestamp() <= t);
        if i == 0 {
            continue; // before the first bucket: outside the range
        }
        merged.entry(i - 1).or_default().merge(&counters);
    }
    let mut out: Vec<MetricsRow> = merged
        .into_iter()
        .map(|(i, counters)| MetricsRow {
            key: GroupKey::Bucket(starts[i]),
            counters,
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_the_coarsest_exact_segments() {
        let day = 86_400;
        let hour = 3_600;
        let from = 2 * day - 2 * hour - 300; // 21:55 on day 1
        let to = 5 * day + hour + 120; // 01:02 on day 5
        let segments = split(from, to);
        let covered: i64 = segments.iter().map(|s| s.hi - s.lo).sum();
        assert_eq!(covered, to - from);
        assert_eq!(
            segments,
            vec![
                Segment {
                    g: Granularity::Minute,
                    lo: from,
                    hi: 2 * day - 2 * hour
                },
                Segment {
                    g: Granularity::Hour,
                    lo: 2 * day - 2 * hour,
                    hi: 2 * day
                },
                Segment {
                    g: Granularity::Day,
                    lo: 2 * day,
                    hi: 5 * day
                },
                Segment {
                    g: Granularity::Hour,
                    lo: 5 * day,
                    hi: 5 * day + hour
                },
                Segment {
                    g: Granularity::Minute,
                    lo: 5 * day + hour,
                    hi: to
                },
            ]
        );
        assert_eq!(
            split(60, 120),
            vec![Segment {
                g: Granularity::Minute,
                lo: 60,
                hi: 120
            }]
        );
    }

    #[test]
    fn time_buckets_use_the_coarsest_aligned_partitions() {
        assert_eq!(aligned([0, 86_400, 172_800].into_iter()), Granularity::Day);
        assert_eq!(aligned([0, 3_600, 86_400].into_iter()), Granularity::Hour);
        assert_eq!(aligned([0, 1_800, 3_600].into_iter()), Granularity::Minute);
    }
}
