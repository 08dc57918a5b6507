//! The tables and views of the store, in ClickHouse's idiom (the `lib.rs` docs say why).

use eventhose_analytics::{Counter, Dimension, Granularity};

/// The aggregate table families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Counters per bucket and dimensions.
    Metrics,
    /// Breakdown counts per bucket, dimensions, kind, label and class.
    Breakdowns,
}

impl Family {
    pub(crate) const ALL: [Family; 2] = [Family::Metrics, Family::Breakdowns];

    /// The commit record kind holding this family's rows.
    fn record(self) -> Record {
        match self {
            Family::Metrics => Record::Row,
            Family::Breakdowns => Record::Breakdown,
        }
    }

    /// The columns after the dimensions that tell rows apart (none for metrics).
    fn keys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Family::Metrics => &[],
            Family::Breakdowns => &[("kind", "UInt8"), ("label", "String"), ("class", "UInt16")],
        }
    }

    /// The summed columns, in the order of a record's `counts`.
    pub(crate) fn values(self) -> Vec<&'static str> {
        match self {
            Family::Metrics => Counter::ALL.iter().map(|c| c.column()).collect(),
            Family::Breakdowns => vec!["c0", "c1", "c2", "c3"],
        }
    }
}

/// What one record of a commit is: the `record` column of `metrics_in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Record {
    /// A tally row: minute, dimensions, `counts` the 32 counters.
    Row = 1,
    /// A breakdown row: minute, dimensions, kind, label, class, `counts` its 4 counts.
    Breakdown = 2,
    /// A ledger change: `key_hi`, `key_lo`, `flags`, `day`.
    Ledger = 3,
    /// The identity of an event folded: `minute` (unix minutes), `identity`.
    Applied = 4,
    /// The position the commit records: `position`.
    Position = 5,
}

/// The aggregate table of a family and granularity, e.g. `metrics_hour`.
pub(crate) fn aggregate_table(family: Family, g: Granularity) -> String {
    let family = match family {
        Family::Metrics => "metrics",
        Family::Breakdowns => "breakdowns",
    };
    let g = match g {
        Granularity::Minute => "minute",
        Granularity::Hour => "hour",
        Granularity::Day => "day",
    };
    format!("{family}_{g}")
}

/// The Null table a commit is inserted into, one record a row, as one block; the views below
/// fan it out.
pub(crate) const COMMITS: &str = "metrics_in";
/// The first engagements of the unique metrics, by day.
pub(crate) const LEDGER: &str = "metrics_ledger";
/// The identities of the events folded, by day applied.
pub(crate) const APPLIED: &str = "metrics_applied";
/// The highest position committed.
pub(crate) const POSITION: &str = "metrics_position";
/// The oldest minute of applied identities retention keeps.
pub(crate) const APPLIED_FLOOR: &str = "metrics_applied_floor";

/// The columns of a commit record and their types, in the order a record is written. Each
/// record uses the columns its kind names ([`Record`]); the others hold zero or empty values,
/// one byte or a few each.
pub(crate) fn commit_columns() -> Vec<(String, &'static str)> {
    let mut columns = vec![
        ("record".to_owned(), "UInt8"),
        ("minute".to_owned(), "Int64"),
    ];
    for d in Dimension::ALL {
        let ty = if d == Dimension::Subaccount {
            "UInt64"
        } else {
            "String"
        };
        columns.push((d.column().to_owned(), ty));
    }
    for (name, ty) in [
        ("kind", "UInt8"),
        ("label", "String"),
        ("class", "UInt16"),
        ("counts", "Array(UInt64)"),
        ("key_hi", "UInt64"),
        ("key_lo", "UInt64"),
        ("flags", "UInt8"),
        ("day", "Int32"),
        ("identity", "UInt64"),
        ("position", "UInt64"),
    ] {
        columns.push((name.to_owned(), ty));
    }
    columns
}

fn column_list(columns: &[(String, &str)]) -> String {
    columns
        .iter()
        .map(|(name, ty)| format!("{name} {ty}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every statement that creates the store in `db`, in order; each may run again.
pub(crate) fn statements(db: &str) -> Vec<String> {
    let mut out = vec![
        format!("CREATE DATABASE IF NOT EXISTS {db}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.{COMMITS} ({}) ENGINE = Null",
            column_list(&commit_columns())
        ),
    ];
    for family in Family::ALL {
        for g in Granularity::ALL {
            out.extend(aggregate(db, family, g));
        }
    }
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{LEDGER} (key_hi UInt64, key_lo UInt64, flags UInt8, day Int32) \
         ENGINE = MergeTree() PARTITION BY day ORDER BY (key_hi, key_lo)"
    ));
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{LEDGER}_mv TO {db}.{LEDGER} AS \
         SELECT key_hi, key_lo, flags, day FROM {db}.{COMMITS} WHERE record = {}",
        Record::Ledger as u8
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{APPLIED} (minute Int64, identity UInt64) \
         ENGINE = MergeTree() PARTITION BY intDiv(minute, 1440) ORDER BY minute"
    ));
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{APPLIED}_mv TO {db}.{APPLIED} AS \
         SELECT minute, identity FROM {db}.{COMMITS} WHERE record = {}",
        Record::Applied as u8
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{POSITION} (slot UInt8, position UInt64) \
         ENGINE = ReplacingMergeTree(position) ORDER BY slot"
    ));
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{POSITION}_mv TO {db}.{POSITION} AS \
         SELECT toUInt8(0) AS slot, position FROM {db}.{COMMITS} WHERE record = {}",
        Record::Position as u8
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{APPLIED_FLOOR} (slot UInt8, floor UInt64) \
         ENGINE = ReplacingMergeTree(floor) ORDER BY slot"
    ));
    out
}

/// An aggregate table and the view that fills it from the commit's records of its family.
fn aggregate(db: &str, family: Family, g: Granularity) -> [String; 2] {
    let table = aggregate_table(family, g);
    let mut columns = vec!["bucket Int64".to_owned()];
    let mut key = vec!["bucket".to_owned()];
    let mut selected = vec![format!(
        "intDiv(minute, {s}) * {s} AS bucket",
        s = g.seconds()
    )];
    for d in Dimension::ALL {
        let ty = if d == Dimension::Subaccount {
            "UInt64"
        } else {
            "String"
        };
        columns.push(format!("{} {ty}", d.column()));
        key.push(d.column().to_owned());
        selected.push(d.column().to_owned());
    }
    for (name, ty) in family.keys() {
        columns.push(format!("{name} {ty}"));
        key.push((*name).to_owned());
        selected.push((*name).to_owned());
    }
    for (i, value) in family.values().into_iter().enumerate() {
        columns.push(format!("{value} UInt64"));
        selected.push(format!("sum(counts[{}]) AS {value}", i + 1));
    }
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.{table} ({}) ENGINE = SummingMergeTree() \
             PARTITION BY toYYYYMM(toDateTime(bucket), 'UTC') ORDER BY ({})",
            columns.join(", "),
            key.join(", ")
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{table}_mv TO {db}.{table} AS \
             SELECT {} FROM {db}.{COMMITS} WHERE record = {} GROUP BY {}",
            selected.join(", "),
            family.record() as u8,
            key.join(", ")
        ),
    ]
}
