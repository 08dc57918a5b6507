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

    /// The prefix of this family's arrays in the commit row.
    fn arrays(self) -> &'static str {
        match self {
            Family::Metrics => "r",
            Family::Breakdowns => "b",
        }
    }

    /// The columns after the dimensions that tell rows apart (none for metrics).
    fn keys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Family::Metrics => &[],
            Family::Breakdowns => &[("kind", "UInt8"), ("label", "String"), ("class", "UInt16")],
        }
    }

    /// The summed columns.
    pub(crate) fn values(self) -> Vec<&'static str> {
        match self {
            Family::Metrics => Counter::ALL.iter().map(|c| c.column()).collect(),
            Family::Breakdowns => vec!["c0", "c1", "c2", "c3"],
        }
    }
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

/// The Null table one commit is inserted into as one row; the views below fan it out.
pub(crate) const COMMITS: &str = "metrics_in";
/// The first engagements of the unique metrics, by day.
pub(crate) const LEDGER: &str = "metrics_ledger";
/// The identities of the events folded, by day applied.
pub(crate) const APPLIED: &str = "metrics_applied";
/// The highest position committed.
pub(crate) const POSITION: &str = "metrics_position";
/// The oldest minute of applied identities retention keeps.
pub(crate) const APPLIED_FLOOR: &str = "metrics_applied_floor";

/// The commit row's columns and types, in the order a commit writes them.
pub(crate) fn commit_columns() -> Vec<(String, &'static str)> {
    let mut columns = vec![
        ("has_position".to_owned(), "UInt8"),
        ("position".to_owned(), "UInt64"),
    ];
    for family in Family::ALL {
        let p = family.arrays();
        columns.push((format!("{p}_minute"), "Array(Int64)"));
        for d in Dimension::ALL {
            let ty = if d == Dimension::Subaccount {
                "Array(UInt64)"
            } else {
                "Array(String)"
            };
            columns.push((format!("{p}_{}", d.column()), ty));
        }
        for (key, ty) in family.keys() {
            let ty = match *ty {
                "UInt8" => "Array(UInt8)",
                "UInt16" => "Array(UInt16)",
                _ => "Array(String)",
            };
            columns.push((format!("{p}_{key}"), ty));
        }
        for value in family.values() {
            columns.push((format!("{p}_{value}"), "Array(UInt64)"));
        }
    }
    for (name, ty) in [
        ("l_key_hi", "Array(UInt64)"),
        ("l_key_lo", "Array(UInt64)"),
        ("l_flags", "Array(UInt8)"),
        ("l_day", "Array(Int32)"),
        ("a_minute", "Array(Int64)"),
        ("a_identity", "Array(UInt64)"),
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
         SELECT v_hi AS key_hi, v_lo AS key_lo, v_flags AS flags, v_day AS day FROM {db}.{COMMITS} \
         ARRAY JOIN l_key_hi AS v_hi, l_key_lo AS v_lo, l_flags AS v_flags, l_day AS v_day"
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{APPLIED} (minute Int64, identity UInt64) \
         ENGINE = MergeTree() PARTITION BY intDiv(minute, 1440) ORDER BY minute"
    ));
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{APPLIED}_mv TO {db}.{APPLIED} AS \
         SELECT v_minute AS minute, v_identity AS identity FROM {db}.{COMMITS} \
         ARRAY JOIN a_minute AS v_minute, a_identity AS v_identity"
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{POSITION} (slot UInt8, position UInt64) \
         ENGINE = ReplacingMergeTree(position) ORDER BY slot"
    ));
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{POSITION}_mv TO {db}.{POSITION} AS \
         SELECT toUInt8(0) AS slot, position FROM {db}.{COMMITS} WHERE has_position = 1"
    ));
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS {db}.{APPLIED_FLOOR} (slot UInt8, floor UInt64) \
         ENGINE = ReplacingMergeTree(floor) ORDER BY slot"
    ));
    out
}

/// An aggregate table and the view that fills it from the commit row.
fn aggregate(db: &str, family: Family, g: Granularity) -> [String; 2] {
    let table = aggregate_table(family, g);
    let p = family.arrays();
    let dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.column()).collect();
    let mut columns = vec!["bucket Int64".to_owned()];
    let mut key = vec!["bucket".to_owned()];
    let mut joined = vec![format!("{p}_minute AS v_minute")];
    let mut selected = vec![format!(
        "intDiv(v_minute, {s}) * {s} AS bucket",
        s = g.seconds()
    )];
    for d in Dimension::ALL {
        let ty = if d == Dimension::Subaccount {
            "UInt64"
        } else {
            "String"
        };
        columns.push(format!("{} {ty}", d.column()));
    }
    let keyed = dimensions
        .iter()
        .copied()
        .map(|name| (name, ""))
        .chain(family.keys().iter().copied());
    for (name, ty) in keyed {
        if !ty.is_empty() {
            columns.push(format!("{name} {ty}"));
        }
        key.push(name.to_owned());
        joined.push(format!("{p}_{name} AS v_{name}"));
        selected.push(format!("v_{name} AS {name}"));
    }
    for value in family.values() {
        columns.push(format!("{value} UInt64"));
        joined.push(format!("{p}_{value} AS v_{value}"));
        selected.push(format!("sum(v_{value}) AS {value}"));
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
             SELECT {} FROM {db}.{COMMITS} ARRAY JOIN {} GROUP BY {}",
            selected.join(", "),
            joined.join(", "),
            key.join(", ")
        ),
    ]
}
