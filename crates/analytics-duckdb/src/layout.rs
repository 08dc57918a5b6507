//! Table layout: partition names, granularities and DDL.
//!
//! Aggregates live in one table per granularity and calendar month (UTC), so retention drops
//! whole tables: `m1_202611` holds minute rows of November 2026, `m60_…` hour rows and
//! `m1440_…` day rows; breakdowns likewise in `b1_…`, `b60_…`, `b1440_…`. `bucket` is the
//! bucket's start in unix seconds.
//!
//! Hour and day partitions have rollups beside them, written in the same commit: the same rows
//! summed over every dimension but the subaccount (`m1440_202611_by_subaccount`) or but the
//! subaccount and one other (`m1440_202611_by_campaign`). A query reads the narrowest table that
//! keeps every dimension it filters or groups by; a month of day rows by subaccount is a few
//! hundred rows where the full table has millions.
//!
//! The engagement ledger has one table per day, `ledger_20261127`.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use eventhose_analytics::{Counter, Dimension};

pub(crate) use eventhose_analytics::Granularity;

/// The minutes of a granularity's bucket: the number in its tables' names.
fn minutes(g: Granularity) -> i64 {
    g.seconds() / 60
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

/// Which dimension columns a partition keeps; the others are summed away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Rollup {
    /// Every dimension.
    Full,
    /// The subaccount only.
    Subaccount,
    /// The subaccount and one text dimension.
    With(Dimension),
    /// One text dimension, summed over every subaccount too: the reading of queries that
    /// neither filter nor group by subaccount (a primary key's), with a row per value instead
    /// of one per value and subaccount. Its subaccount column holds 0, so every rollup has
    /// the same columns.
    Across(Dimension),
}

impl Rollup {
    /// The rollups written beside a full hour or day partition, narrowest first.
    pub(crate) fn narrow() -> impl Iterator<Item = Rollup> {
        let texts = || {
            Dimension::ALL
                .into_iter()
                .filter(|d| *d != Dimension::Subaccount)
        };
        std::iter::once(Rollup::Subaccount)
            .chain(texts().map(Rollup::Across))
            .chain(texts().map(Rollup::With))
    }

    /// The narrowest written rollup that keeps every one of `dimensions`.
    pub(crate) fn covering(dimensions: impl IntoIterator<Item = Dimension> + Clone) -> Rollup {
        Rollup::narrow()
            .find(|r| dimensions.clone().into_iter().all(|d| r.keeps(d)))
            .unwrap_or(Rollup::Full)
    }

    /// Whether the rollup's rows tell the values of `dimension` apart.
    fn keeps(self, dimension: Dimension) -> bool {
        match self {
            Rollup::Full => true,
            Rollup::Subaccount => dimension == Dimension::Subaccount,
            Rollup::With(d) => dimension == Dimension::Subaccount || dimension == d,
            Rollup::Across(d) => dimension == d,
        }
    }

    /// Whether the subaccount column holds the rows' subaccounts (not 0 for all). Asked for
    /// every row a commit writes: no allocation.
    pub(crate) fn keeps_subaccount(self) -> bool {
        self.keeps(Dimension::Subaccount)
    }

    /// The rollup a partition of granularity `g` can be read with (minutes have none).
    pub(crate) fn at(self, g: Granularity) -> Rollup {
        if g == Granularity::Minute {
            Rollup::Full
        } else {
            self
        }
    }

    /// The text dimension values this rollup keeps, out of a row's eight.
    pub(crate) fn texts(self, text: &[Box<str>]) -> &[Box<str>] {
        match self {
            Rollup::Full => text,
            Rollup::Subaccount => &text[..0],
            Rollup::With(d) | Rollup::Across(d) => {
                let i = d.index() - 1;
                &text[i..=i]
            }
        }
    }

    /// The dimension columns, in column order.
    pub(crate) fn dimensions(self) -> Vec<Dimension> {
        match self {
            Rollup::Full => Dimension::ALL.to_vec(),
            Rollup::Subaccount => vec![Dimension::Subaccount],
            Rollup::With(d) | Rollup::Across(d) => vec![Dimension::Subaccount, d],
        }
    }

    fn suffix(self) -> String {
        match self {
            Rollup::Full => String::new(),
            Rollup::Subaccount => format!("_by_{}", Dimension::Subaccount.column()),
            Rollup::With(d) => format!("_by_{}", d.column()),
            Rollup::Across(d) => format!("_across_{}", d.column()),
        }
    }

    fn from_suffix(suffix: &str) -> Option<Rollup> {
        if suffix.is_empty() {
            return Some(Rollup::Full);
        }
        Rollup::narrow().find(|r| r.suffix() == suffix)
    }
}

/// What a partition table's name says: family, granularity, month and rollup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Partition {
    pub(crate) family: Family,
    pub(crate) g: Granularity,
    pub(crate) month: (i32, u32),
    pub(crate) rollup: Rollup,
}

impl Partition {
    /// The table name.
    pub(crate) fn name(&self) -> String {
        let (year, month) = self.month;
        format!(
            "{}{}_{year:04}{month:02}{}",
            self.family.prefix(),
            minutes(self.g),
            self.rollup.suffix()
        )
    }

    /// Parses a table name back; `None` for other tables.
    pub(crate) fn parse(name: &str) -> Option<Partition> {
        let (head, tail) = name.split_once('_')?;
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
        let ym = tail.get(..6)?;
        if !ym.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = ym[..4].parse().ok()?;
        let month = ym[4..].parse().ok()?;
        let rollup = Rollup::from_suffix(&tail[6..])?;
        if !(1..=12).contains(&month) || (g == Granularity::Minute && rollup != Rollup::Full) {
            return None;
        }
        Some(Partition {
            family,
            g,
            month: (year, month),
            rollup,
        })
    }

    /// DDL of the table.
    pub(crate) fn create(&self) -> String {
        let dimensions = self
            .rollup
            .dimensions()
            .into_iter()
            .map(|d| match d {
                Dimension::Subaccount => format!("{} UBIGINT NOT NULL", d.column()),
                d => format!("{} VARCHAR NOT NULL", d.column()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let tail = match self.family {
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
            "CREATE TABLE IF NOT EXISTS {} (bucket BIGINT NOT NULL, {dimensions}, {tail})",
            self.name()
        )
    }

    /// The columns the table's rows are told apart by (the subaccount column of an
    /// [`Rollup::Across`] is not one: it holds 0).
    pub(crate) fn key_columns(&self) -> Vec<&'static str> {
        let mut keys = vec!["bucket"];
        keys.extend(
            self.rollup
                .dimensions()
                .into_iter()
                .filter(|d| self.rollup.keeps(*d))
                .map(Dimension::column),
        );
        if self.family == Family::Breakdowns {
            keys.extend(["kind", "label", "class"]);
        }
        keys
    }

    /// The summed columns of the table.
    pub(crate) fn value_columns(&self) -> Vec<&'static str> {
        match self.family {
            Family::Metrics => Counter::ALL.iter().map(|c| c.column()).collect(),
            Family::Breakdowns => vec!["c0", "c1", "c2", "c3"],
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

/// The table of the identities of the events the metrics subscriber applied on a day (days
/// since the epoch, by when they were applied), kept for its deduplication window.
pub(crate) fn applied_table(day: i64) -> String {
    let date = DateTime::<Utc>::from_timestamp(day * 86_400, 0)
        .unwrap_or_default()
        .date_naive();
    format!("applied_{}", date.format("%Y%m%d"))
}

/// The day (since the epoch) of an applied-events table name.
pub(crate) fn parse_applied_table(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("applied_")?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(i64::from(date.num_days_from_ce() - 719_163))
}

/// DDL of an applied-events table.
pub(crate) fn create_applied(name: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS {name} (identity UBIGINT NOT NULL, minute BIGINT NOT NULL)")
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
                for rollup in std::iter::once(Rollup::Full).chain(Rollup::narrow()) {
                    let rollup = rollup.at(g);
                    let partition = Partition {
                        family,
                        g,
                        month: (2026, 3),
                        rollup,
                    };
                    assert_eq!(Partition::parse(&partition.name()), Some(partition));
                }
            }
        }
        assert_eq!(
            Partition::parse("m1440_202603_by_campaign").map(|p| p.rollup),
            Some(Rollup::With(Dimension::Campaign))
        );
        assert_eq!(
            Partition::parse("m1440_202603_by_domain").map(|p| p.rollup),
            Some(Rollup::With(Dimension::Domain))
        );
        assert_eq!(Partition::parse("positions"), None);
        assert_eq!(Partition::parse("m1_202613"), None);
        assert_eq!(Partition::parse("m1_202603_by_campaign"), None);
        assert_eq!(Partition::parse("m60_202603_by_nothing"), None);
        assert_eq!(Partition::parse("m60_2026"), None);
        let day = 20_000;
        assert_eq!(parse_ledger_table(&ledger_table(day)), Some(day));
        assert_eq!(parse_applied_table(&applied_table(20_000)), Some(20_000));
        assert_eq!(applied_table(0), "applied_19700101");
        assert_eq!(ledger_table(0), "ledger_19700101");
    }

    #[test]
    fn queries_read_the_narrowest_rollup_that_keeps_their_dimensions() {
        use Dimension as D;
        assert_eq!(Rollup::covering([]), Rollup::Subaccount);
        assert_eq!(Rollup::covering([D::Subaccount]), Rollup::Subaccount);
        assert_eq!(
            Rollup::covering([D::Campaign, D::Subaccount, D::Campaign]),
            Rollup::With(D::Campaign)
        );
        assert_eq!(Rollup::covering([D::Campaign, D::Template]), Rollup::Full);
        assert_eq!(Rollup::covering([D::Domain]), Rollup::Across(D::Domain));
        assert_eq!(
            Rollup::covering([D::Domain, D::Subaccount]),
            Rollup::With(D::Domain)
        );
        assert_eq!(
            Rollup::With(D::IpPool).at(Granularity::Minute),
            Rollup::Full
        );
        let text: [Box<str>; 8] = std::array::from_fn(|i| i.to_string().into());
        assert_eq!(Rollup::With(D::MailboxProvider).texts(&text), &text[1..2]);
        assert_eq!(Rollup::With(D::SendingIp).texts(&text), &text[7..]);
        assert!(Rollup::Subaccount.texts(&text).is_empty());
        assert_eq!(Rollup::Full.texts(&text).len(), 8);
        assert_eq!(Rollup::narrow().count(), 17);
        assert_eq!(Rollup::Across(D::Domain).texts(&text), &text[..1]);
    }

    #[test]
    fn months_and_rounding() {
        let t = 1_798_761_599; // 2026-12-31T23:59:59Z
        assert_eq!(month_of(t), (2026, 12));
        assert_eq!(month_of(t + 1), (2027, 1));
        assert_eq!(month_start(2027, 1), t + 1);
        assert_eq!(next_month(2026, 12), (2027, 1));
    }
}
