//! Writing metrics: a commit is one block of records (see the crate docs), the checkpoint is
//! read back from the tables those records fill, and retention drops partitions.

use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use eventhose_analytics::{
    fold::RowKey, AnalyticsError, Dimension, EngagementLedger, LedgerChange, MetricsCheckpoint,
    MetricsWriter, RetentionReport, Tally,
};
use eventhose_model::AppliedId;

use crate::rowbinary::{Reader, Writer};
use crate::schema::{self, Family, Record};
use crate::sql::quote;
use crate::{ClickHouseError, ClickHouseStore};

const DAY: i64 = 86_400;

impl MetricsWriter for ClickHouseStore {
    fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError> {
        self.checkpoint_newest(usize::MAX)
    }

    /// Reads the newest `max_applied` identities only: a day of them at a busy sender's rate
    /// is more than a worker needs or an answer may hold.
    fn checkpoint_newest(&self, max_applied: usize) -> Result<MetricsCheckpoint, AnalyticsError> {
        self.settle_commits()?;
        let db = &self.database;
        // Whether a position was ever recorded, and the highest (rows not yet merged away
        // count too, so only "any" is asked of the count).
        let bytes = self.rows(&format!(
            "SELECT toUInt8(count() > 0), max(position) FROM {db}.{}",
            schema::POSITION
        ))?;
        let mut r = Reader::new(&bytes);
        let (any, highest) = (r.u8().map_err(engine)?, r.u64().map_err(engine)?);
        let position = (any == 1).then_some(highest);

        let bytes = self.rows(&format!(
            "SELECT key_hi, key_lo, flags, day FROM {db}.{}",
            schema::LEDGER
        ))?;
        let mut r = Reader::new(&bytes);
        let mut changes = Vec::new();
        while !r.is_empty() {
            let (hi, lo) = (r.u64().map_err(engine)?, r.u64().map_err(engine)?);
            changes.push(LedgerChange {
                key: (u128::from(hi) << 64) | u128::from(lo),
                flags: r.u8().map_err(engine)?,
                day: r.i32().map_err(engine)?,
            });
        }

        let bytes = self.rows(&format!(
            "SELECT minute, identity FROM {db}.{applied} \
             WHERE minute >= (SELECT toInt64(max(floor)) FROM {db}.{floor}) \
             ORDER BY minute DESC LIMIT {limit}",
            applied = schema::APPLIED,
            floor = schema::APPLIED_FLOOR,
            limit = u64::try_from(max_applied).unwrap_or(u64::MAX),
        ))?;
        let mut r = Reader::new(&bytes);
        let mut applied = Vec::new();
        while !r.is_empty() {
            applied.push(AppliedId {
                minute: r.i64().map_err(engine)?,
                identity: r.u64().map_err(engine)?,
            });
        }
        applied.reverse();
        Ok(MetricsCheckpoint {
            position,
            ledger: EngagementLedger::restore(changes),
            applied,
        })
    }

    fn commit(
        &self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
    ) -> Result<(), AnalyticsError> {
        if tally.rows.is_empty()
            && tally.breakdowns.is_empty()
            && tally.applied.is_empty()
            && ledger.is_empty()
            && position.is_none()
        {
            return Ok(());
        }
        let columns = schema::commit_columns()
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "INSERT INTO {}.{} ({columns}) FORMAT RowBinary",
            self.database,
            schema::COMMITS
        );
        let query_id = format!("{}{}", self.commit_prefix, uuid::Uuid::new_v4());
        let (records, count) = commit_records(tally, ledger, position);
        self.client
            .insert_block(&statement, &query_id, &records, count)
            .map_err(|e| AnalyticsError::engine_in("committing metrics", e))
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
        ledger_from: DateTime<Utc>,
        applied_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let applied_floor = applied_from.timestamp().div_euclid(60);
        // The floor first: identities below it are not read back even before their day's
        // partition goes.
        self.client
            .execute(&format!(
                "INSERT INTO {}.{} (slot, floor) VALUES (0, {})",
                self.database,
                schema::APPLIED_FLOOR,
                applied_floor.max(0)
            ))
            .map_err(engine)?;
        let bytes = self.rows(&format!(
            "SELECT table, partition_id FROM system.parts WHERE database = {} AND active \
             GROUP BY table, partition_id ORDER BY table, partition_id",
            quote(&self.database)
        ))?;
        let mut r = Reader::new(&bytes);
        let mut dropped = Vec::new();
        while !r.is_empty() {
            let (table, partition) = (r.string().map_err(engine)?, r.string().map_err(engine)?);
            let end = if table == schema::LEDGER {
                day_partition_end(&partition).filter(|end| *end <= ledger_from.timestamp())
            } else if table == schema::APPLIED {
                day_partition_end(&partition).filter(|end| *end <= applied_from.timestamp())
            } else if is_aggregate(&table) {
                month_partition_end(&partition).filter(|end| *end <= keep_from.timestamp())
            } else {
                None
            };
            if end.is_some() {
                self.client
                    .execute(&format!(
                        "ALTER TABLE {}.{table} DROP PARTITION ID {}",
                        self.database,
                        quote(&partition)
                    ))
                    .map_err(|e| {
                        AnalyticsError::engine_in(format!("dropping {table}/{partition}"), e)
                    })?;
                dropped.push(format!("{table}/{partition}"));
            }
        }
        Ok(RetentionReport { dropped })
    }
}

impl ClickHouseStore {
    /// Waits until the server runs none of this database's commits (see the crate docs), at
    /// most the store's timeout.
    fn settle_commits(&self) -> Result<(), AnalyticsError> {
        let deadline = Instant::now() + self.timeout;
        let sql = format!(
            "SELECT count() FROM system.processes WHERE substring(query_id, 1, {}) = {}",
            self.commit_prefix.len(),
            quote(&self.commit_prefix)
        );
        loop {
            let bytes = self.rows(&sql)?;
            if Reader::new(&bytes).u64().map_err(engine)? == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AnalyticsError::engine(ClickHouseError::Unexpected(
                    format!(
                        "a commit of an earlier writer is still running after {:?}",
                        self.timeout
                    ),
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

fn engine(e: ClickHouseError) -> AnalyticsError {
    AnalyticsError::engine(e)
}

fn is_aggregate(table: &str) -> bool {
    Family::ALL.iter().any(|family| {
        eventhose_analytics::Granularity::ALL
            .iter()
            .any(|g| schema::aggregate_table(*family, *g) == table)
    })
}

/// The end (unix seconds) of a day partition, named by its day since the epoch.
fn day_partition_end(partition: &str) -> Option<i64> {
    partition.parse::<i64>().ok().map(|day| (day + 1) * DAY)
}

/// The end (unix seconds) of a month partition, named `YYYYMM`.
fn month_partition_end(partition: &str) -> Option<i64> {
    let ym: i32 = partition.parse().ok()?;
    let (year, month) = (ym / 100, u32::try_from(ym % 100).ok()?);
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some(next.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// The records of a commit in `RowBinary` ([`schema::commit_columns`] order), and how many.
fn commit_records(
    tally: &Tally,
    ledger: &[LedgerChange],
    position: Option<u64>,
) -> (Vec<u8>, usize) {
    let mut w = Writer::default();
    for (key, counters) in &tally.rows {
        CommitRecord {
            minute: key.minute,
            row: Some(key),
            counts: &counters.0,
            ..CommitRecord::of(Record::Row)
        }
        .write(&mut w);
    }
    for (key, counts) in &tally.breakdowns {
        CommitRecord {
            minute: key.row.minute,
            row: Some(&key.row),
            kind: key.kind.code(),
            label: &key.label,
            class: key.class,
            counts,
            ..CommitRecord::of(Record::Breakdown)
        }
        .write(&mut w);
    }
    for change in ledger {
        let bytes = change.key.to_be_bytes();
        let (hi, lo) = bytes.split_at(8);
        let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
        CommitRecord {
            key: (word(hi), word(lo)),
            flags: change.flags,
            day: change.day,
            ..CommitRecord::of(Record::Ledger)
        }
        .write(&mut w);
    }
    for id in &tally.applied {
        CommitRecord {
            minute: id.minute,
            identity: id.identity,
            ..CommitRecord::of(Record::Applied)
        }
        .write(&mut w);
    }
    if let Some(position) = position {
        CommitRecord {
            position,
            ..CommitRecord::of(Record::Position)
        }
        .write(&mut w);
    }
    let count = tally.rows.len()
        + tally.breakdowns.len()
        + ledger.len()
        + tally.applied.len()
        + usize::from(position.is_some());
    (w.into_bytes(), count)
}

/// One commit record: the columns its kind uses, the rest zero or empty.
struct CommitRecord<'a> {
    record: Record,
    minute: i64,
    row: Option<&'a RowKey>,
    kind: u8,
    label: &'a str,
    class: u16,
    counts: &'a [u64],
    key: (u64, u64),
    flags: u8,
    day: i32,
    identity: u64,
    position: u64,
}

impl<'a> CommitRecord<'a> {
    fn of(record: Record) -> CommitRecord<'a> {
        CommitRecord {
            record,
            minute: 0,
            row: None,
            kind: 0,
            label: "",
            class: 0,
            counts: &[],
            key: (0, 0),
            flags: 0,
            day: 0,
            identity: 0,
            position: 0,
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.record as u8);
        w.i64(self.minute);
        for d in Dimension::ALL {
            match (d, self.row) {
                (Dimension::Subaccount, row) => w.u64(row.map_or(0, |r| r.dims.subaccount)),
                (d, Some(row)) => w.str(&row.dims.text[d.index() - 1]),
                (_, None) => w.str(""),
            }
        }
        w.u8(self.kind);
        w.str(self.label);
        w.u16(self.class);
        w.array(self.counts, |w, n| w.u64(*n));
        w.u64(self.key.0);
        w.u64(self.key.1);
        w.u8(self.flags);
        w.i32(self.day);
        w.u64(self.identity);
        w.u64(self.position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_end_where_their_month_or_day_ends() {
        assert_eq!(month_partition_end("202612"), Some(1_798_761_600));
        assert_eq!(month_partition_end("202611"), Some(1_796_083_200));
        assert_eq!(month_partition_end("202613"), None);
        assert_eq!(month_partition_end("all"), None);
        assert_eq!(day_partition_end("0"), Some(DAY));
        assert!(is_aggregate("breakdowns_hour"));
        assert!(!is_aggregate("metrics_ledger"));
    }
}

/// On the local server (the one `.ci/run` starts).
#[cfg(test)]
mod server_tests {
    use std::io::Write as _;
    use std::net::TcpStream;

    use eventhose_analytics::{Aggregator, MetricsWriter};
    use eventhose_test_support::clickhouse::ClickHouseDatabase;

    use super::*;
    use crate::{ClickHouseOptions, Endpoint};

    #[test]
    fn a_commit_cut_off_midway_leaves_nothing_behind() {
        let test_database = ClickHouseDatabase::new();
        let database = test_database.name();
        let endpoint = Endpoint::parse(&test_database.url()).expect("endpoint");
        let store = ClickHouseStore::open(&endpoint, &ClickHouseOptions::default()).expect("open");
        let mut aggregator = Aggregator::default();
        for i in 0..2_000 {
            let line = format!(
                r#"{{"type":"delivery","timestamp":"{}","event_id":"{i}","message_id":"m{i}","recipient_domain":"d{}.example"}}"#,
                1_793_390_400 + i * 7,
                i % 50
            );
            aggregator.fold(line.as_bytes()).expect("fold");
        }
        let (tally, changes) = aggregator.take();
        let (records, _) = commit_records(&tally, &changes, Some(9));
        let row = crate::client::gzip(&records).expect("gzip");

        // A worker dies with half of its commit sent.
        let columns = schema::commit_columns()
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
            .join(",");
        let query_id = format!("{}cut", store.commit_prefix);
        let target = format!(
            "/?query=INSERT%20INTO%20{database}.{}%20({columns})%20FORMAT%20RowBinary&query_id={query_id}",
            schema::COMMITS
        );
        let address = eventhose_test_support::clickhouse::server();
        let address = address.trim_start_matches("http://").trim_end_matches('/');
        let mut socket = TcpStream::connect(address).expect("connect");
        write!(
            socket,
            "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            row.len()
        )
        .expect("head");
        socket
            .write_all(&row[..row.len() / 2])
            .expect("half the row");
        socket.flush().expect("flush");
        drop(socket);

        // The checkpoint waits for the server to finish with the cut-off insert.
        let checkpoint = store.checkpoint().expect("checkpoint");
        assert_eq!(checkpoint.position, None);
        assert!(checkpoint.ledger.is_empty() && checkpoint.applied.is_empty());
        let count = |table: &str| {
            let bytes = store
                .rows(&format!("SELECT count() FROM {database}.{table}"))
                .expect("count");
            Reader::new(&bytes).u64().expect("a count")
        };
        for g in eventhose_analytics::Granularity::ALL {
            assert_eq!(count(&schema::aggregate_table(Family::Metrics, g)), 0);
        }

        // The same commit made whole counts once.
        store.commit(&tally, &changes, Some(9)).expect("commit");
        assert_eq!(store.checkpoint().expect("checkpoint").position, Some(9));
        let bytes = store
            .rows(&format!(
                "SELECT sum({}) FROM {database}.metrics_day",
                eventhose_analytics::Counter::DeliveredFirst.column()
            ))
            .expect("sum");
        assert_eq!(Reader::new(&bytes).u64().expect("a sum"), 2_000);
    }
}
