//! Reading metrics: each query reads the coarsest aggregates that cover its range exactly
//! (`eventhose_analytics::split`), and sums again what merges have not summed yet.

use eventhose_analytics::{
    group_rows, needed_counters, segments, split, AnalyticsError, BreakdownGrouping,
    BreakdownQuery, BreakdownRow, Counters, Grouping, MetricsQuery, MetricsReader, MetricsRow,
    Segment, TimeRange, ValuesQuery,
};

use crate::rowbinary::Reader;
use crate::schema::{aggregate_table, Family};
use crate::sql::{contains, dimension_text, filter_sql};
use crate::{ClickHouseError, ClickHouseStore};

fn unix(range: &TimeRange) -> (i64, i64) {
    (range.from.timestamp(), range.to.timestamp())
}

fn engine(e: ClickHouseError) -> AnalyticsError {
    AnalyticsError::engine(e)
}

impl ClickHouseStore {
    /// `SELECT {columns} FROM <table> WHERE <segment> AND <filter>{extra}` for every segment,
    /// joined with `UNION ALL`.
    fn union(
        &self,
        family: Family,
        segments: &[Segment],
        columns: &str,
        filter: &str,
        extra: &str,
    ) -> String {
        segments
            .iter()
            .map(|segment| {
                format!(
                    "SELECT {columns} FROM {}.{} WHERE bucket >= {} AND bucket < {} AND ({filter}){extra}",
                    self.database,
                    aggregate_table(family, segment.g),
                    segment.lo,
                    segment.hi,
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    }
}

impl MetricsReader for ClickHouseStore {
    fn metrics(&self, query: &MetricsQuery) -> Result<Vec<MetricsRow>, AnalyticsError> {
        let segments = segments(query)?;
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let key = match &query.grouping {
            Grouping::Total => "''".to_owned(),
            Grouping::By(dimension) => dimension_text(*dimension),
            Grouping::Time(_) => "toString(bucket)".to_owned(),
        };
        let counters = needed_counters(query);
        let columns = std::iter::once(format!("{key} AS k"))
            .chain(counters.iter().map(|c| c.column().to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let union = self.union(
            Family::Metrics,
            &segments,
            &columns,
            &filter_sql(&query.filter)?,
            "",
        );
        let sums = counters
            .iter()
            .map(|c| format!("sum({})", c.column()))
            .collect::<Vec<_>>()
            .join(", ");
        let bytes = self.rows(&format!("SELECT k, {sums} FROM ({union}) GROUP BY k"))?;
        let mut r = Reader::new(&bytes);
        let mut rows = Vec::new();
        while !r.is_empty() {
            let key = r.string().map_err(engine)?;
            let mut summed = Counters::default();
            for counter in &counters {
                summed.add(*counter, r.u64().map_err(engine)?);
            }
            rows.push((key, summed));
        }
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
        let union = self.union(
            Family::Breakdowns,
            &split(from, to),
            &format!("{label} AS l, class, {domain} AS d, c0, c1, c2, c3"),
            &filter_sql(&query.filter)?,
            &format!(" AND kind = {}", query.kind.code()),
        );
        let bytes = self.rows(&format!(
            "SELECT l, class, d, sum(c0), sum(c1), sum(c2), sum(c3) FROM ({union}) \
             GROUP BY l, class, d ORDER BY l, class, d"
        ))?;
        let by_domain = query.grouping == BreakdownGrouping::LabelAndDomain;
        let mut r = Reader::new(&bytes);
        let mut rows = Vec::new();
        while !r.is_empty() {
            let label = r.string().map_err(engine)?;
            let class = r.u16().map_err(engine)?;
            let domain = r.string().map_err(engine)?;
            let mut counts = [0; 4];
            for count in &mut counts {
                *count = r.u64().map_err(engine)?;
            }
            // A key whose counts merged to nothing is no row (as in the reference store).
            if counts.iter().any(|&n| n > 0) {
                rows.push(BreakdownRow {
                    label,
                    class,
                    domain: by_domain.then_some(domain),
                    counts,
                });
            }
        }
        Ok(rows)
    }

    fn values(&self, query: &ValuesQuery) -> Result<Vec<String>, AnalyticsError> {
        query.range.check()?;
        let (from, to) = unix(&query.range);
        if from >= to || query.limit == 0 {
            return Ok(Vec::new());
        }
        let union = self.union(
            Family::Metrics,
            &split(from, to),
            &format!("{} AS v", dimension_text(query.dimension)),
            &filter_sql(&query.filter)?,
            "",
        );
        let matching = query
            .contains
            .as_deref()
            .map(|text| format!(" AND {}", contains("v", text)))
            .unwrap_or_default();
        let bytes = self.rows(&format!(
            "SELECT DISTINCT v FROM ({union}) WHERE v != ''{matching} ORDER BY v LIMIT {}",
            query.limit
        ))?;
        let mut r = Reader::new(&bytes);
        let mut values = Vec::new();
        while !r.is_empty() {
            values.push(r.string().map_err(engine)?);
        }
        Ok(values)
    }
}
