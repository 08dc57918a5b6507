//! Table layout: partition names, granularities and DDL.
//!
//! Aggregates live in one table per granularity and calendar month (UTC), so retention drops
//! whole tables: `m1_202611` holds minute rows of November 2026, `m60_…` hour rows and
//! `m1440_…` day rows; breakdowns likewise in `b1_…`, `b60_…`, `b1440_…`. The engagement ledger
//! has one table per day, `ledger_20261127`. `bucket` is the bucket's start in unix seconds.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use eventhose_analytics::{Counter, Dimension};

/// An aggregate granularity, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Granularity {
    Minute,
    Hour,
    Day,
}

impl Granularity {
    pub(crate) const ALL: [Granularity; 3] =
        [Granularity::Minute, Granularity::Hour, Granularity::Day];

    pub(crate) fn seconds(self) -> i64 {
        match self {
            Granularity::Minute => 60,
            Granularity::Hour => 3_600,
            Granularity::Day => 86_400,
        }
    }

    pub(crate) fn floor(self, t: i64) -> i64 {
        t.div_euclid(self.seconds()) * self.seconds()
    }

    pub(crate) fn ceil(self, t: i64) -> i64 {
        let f = self.floor(t);
        if f == t {
            t
        } else {
            f + self.seconds()
        }
    }

    fn minutes(self) -> i64 {
        self.seconds() / 60
    }
}

/// The two table families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    Metrics,
    Breakdowns,
}

impl Family {
    fn prefix(self) -> &'static str {
        match self {
            Family::Metrics => "m",
            Family::Breakdowns => "b",
        }
    }
}

/// `(year, month)` of a unix time, UTC.
pub(crate) fn month_of(t: i64) -> (i32, u32) {
    let date = DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .date_naive();
    (date.year(), date.month())
}

/// Unix time of the first second of a month.
pub(crate) fn month_start(year: i32, month: u32) -> i64 {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp())
}

/// The month after `(year, month)`.
pub(crate) fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

/// The partition table of a family, granularity and month.
pub(crate) fn partition(family: Family, g: Granularity, (year, month): (i32, u32)) -> String {
    format!("{}{}_{year:04}{month:02}", family.prefix(), g.minutes())
}

/// Parses a partition name back; `None` for other tables.
pub(crate) fn parse_partition(name: &str) -> Option<(Family, Granularity, (i32, u32))> {
    let (head, ym) = name.split_once('_')?;
    let family = match head.chars().next()? {
        'm' => Family::Metrics,
        'b' => Family::Breakdowns,
        _ => return None,
    };
    let g = match &head[1..] {
        "1" => Granularity::Minute,
        "60" => Granularity::Hour,
        "1440" => Granularity::Day,
        _ => return None,
    };
    if ym.len() != 6 || !ym.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = ym[..4].parse().ok()?;
    let month = ym[4..].parse().ok()?;
    (1..=12)
        .contains(&month)
        .then_some((family, g, (year, month)))
}

/// The ledger table of a day (days since the epoch).
pub(crate) fn ledger_table(day: i32) -> String {
    let date = NaiveDate::from_num_days_from_ce_opt(day + 719_163).unwrap_or_default();
    format!("ledger_{}", date.format("%Y%m%d"))
}

/// The day (since the epoch) of a ledger table name.
pub(crate) fn parse_ledger_table(name: &str) -> Option<i32> {
    let digits = name.strip_prefix("ledger_")?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(date.num_days_from_ce() - 719_163)
}

/// The dimension columns, in storage order.
pub(crate) fn dimension_columns() -> impl Iterator<Item = &'static str> {
    Dimension::ALL.into_iter().map(Dimension::column)
}

fn dimension_ddl() -> String {
    dimension_columns()
        .map(|c| {
            if c == Dimension::Subaccount.column() {
                format!("{c} UBIGINT NOT NULL")
            } else {
                format!("{c} VARCHAR NOT NULL")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// DDL of a partition table.
pub(crate) fn create_partition(family: Family, name: &str) -> String {
    let tail = match family {
        Family::Metrics => Counter::ALL
            .iter()
            .map(|c| format!("{} UBIGINT NOT NULL", c.column()))
            .collect::<Vec<_>>()
            .join(", "),
        Family::Breakdowns => {
            "kind UTINYINT NOT NULL, label VARCHAR NOT NULL, class USMALLINT NOT NULL, \
             c0 UBIGINT NOT NULL, c1 UBIGINT NOT NULL, c2 UBIGINT NOT NULL, c3 UBIGINT NOT NULL"
                .to_owned()
        }
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (bucket BIGINT NOT NULL, {}, {tail})",
        dimension_ddl()
    )
}

/// The columns a partition is grouped by when compacted.
pub(crate) fn key_columns(family: Family) -> Vec<&'static str> {
    let mut keys = vec!["bucket"];
    keys.extend(dimension_columns());
    if family == Family::Breakdowns {
        keys.extend(["kind", "label", "class"]);
    }
    keys
}

/// The summed columns of a partition.
pub(crate) fn value_columns(family: Family) -> Vec<&'static str> {
    match family {
        Family::Metrics => Counter::ALL.iter().map(|c| c.column()).collect(),
        Family::Breakdowns => vec!["c0", "c1", "c2", "c3"],
    }
}

/// DDL of a ledger table.
pub(crate) fn create_ledger(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (key_hi UBIGINT NOT NULL, key_lo UBIGINT NOT NULL, flags UTINYINT NOT NULL)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        for family in [Family::Metrics, Family::Breakdowns] {
            for g in Granularity::ALL {
                let name = partition(family, g, (2026, 3));
                assert_eq!(parse_partition(&name), Some((family, g, (2026, 3))));
            }
        }
        assert_eq!(parse_partition("positions"), None);
        assert_eq!(parse_partition("m1_202613"), None);
        let day = 20_000;
        assert_eq!(parse_ledger_table(&ledger_table(day)), Some(day));
        assert_eq!(ledger_table(0), "ledger_19700101");
    }

    #[test]
    fn months_and_rounding() {
        let t = 1_798_761_599; // 2026-12-31T23:59:59Z
        assert_eq!(month_of(t), (2026, 12));
        assert_eq!(month_of(t + 1), (2027, 1));
        assert_eq!(month_start(2027, 1), t + 1);
        assert_eq!(next_month(2026, 12), (2027, 1));
        assert_eq!(Granularity::Hour.floor(3_599), 0);
        assert_eq!(Granularity::Hour.ceil(1), 3_600);
        assert_eq!(Granularity::Hour.ceil(3_600), 3_600);
        assert_eq!(Granularity::Day.floor(-1), -86_400);
    }
}
