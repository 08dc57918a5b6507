//! An in-memory event store: the reference implementation of [`EventReader`] and
//! [`EventWriter`].
//!
//! Everything sits behind one mutex and every search scans and sorts every stored event. It is
//! meant to be obviously right, not fast: other stores are differential-tested against it, and
//! API tests run over it.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::{
    AnalyticsError, ErasureReport, EventBatch, EventPage, EventQuery, EventReader, EventWriter,
    IndexedEvent, InsertReport, MayStore, RetentionReport, StoredEvent,
};

const DAY_SECONDS: i64 = 86_400;

/// Events kept in memory (see the module docs).
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    inner: Mutex<Stored>,
}

/// One stored event.
#[derive(Debug)]
struct Row {
    /// Insertion sequence number.
    seq: u64,
    indexed: IndexedEvent,
    json: String,
}

#[derive(Debug, Default)]
struct Stored {
    rows: Vec<Row>,
    /// What makes an event a repeat: its second, account and `event_id`.
    ids: HashSet<(i64, u64, String)>,
    /// The highest sequence number assigned.
    last_seq: u64,
    position: Option<u64>,
}

impl MemoryEventStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Stored>, AnalyticsError> {
        self.inner
            .lock()
            .map_err(|_| AnalyticsError::Internal("memory event store lock poisoned".into()))
    }
}

fn day_name(day: i64) -> String {
    DateTime::<Utc>::from_timestamp(day * DAY_SECONDS, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("day-{day}"))
}

impl EventReader for MemoryEventStore {
    fn search(&self, query: &EventQuery) -> Result<EventPage, AnalyticsError> {
        if query.per_page == 0 {
            return Err(AnalyticsError::Invalid(
                "per_page must be at least 1".into(),
            ));
        }
        let stored = self.lock()?;
        let snapshot = query
            .cursor
            .as_ref()
            .map_or(stored.last_seq, |cursor| cursor.snapshot);
        let mut matching: Vec<&Row> = stored
            .rows
            .iter()
            .filter(|row| {
                row.seq <= snapshot
                    && query.from <= row.indexed.timestamp
                    && row.indexed.timestamp < query.to
                    && row.indexed.matches(&query.filters)
            })
            .collect();
        let total_count = matching.len() as u64;
        let key = |row: &Row| (row.indexed.timestamp, row.seq);
        matching.sort_by_key(|row| std::cmp::Reverse(key(row)));
        let after_cursor: Vec<&Row> = match &query.cursor {
            None => matching,
            Some(cursor) => {
                let last = (cursor.timestamp, cursor.seq);
                matching.into_iter().filter(|row| key(row) < last).collect()
            }
        };
        let mut bytes = 0usize;
        let page: Vec<&Row> = after_cursor
            .iter()
            .take(query.per_page)
            .take_while(|row| {
                let within = bytes <= query.max_bytes;
                bytes = bytes.saturating_add(row.json.len());
                within
            })
            .copied()
            .collect();
        let next = (after_cursor.len() > page.len())
            .then(|| page.last())
            .flatten()
            .map(|last| crate::EventCursor {
                timestamp: last.indexed.timestamp,
                seq: last.seq,
                snapshot,
            });
        Ok(EventPage {
            events: page.iter().map(|row| row.json.clone()).collect(),
            total_count,
            next,
        })
    }
}

/// What makes an event a repeat of a stored one (see [`Stored::ids`]).
fn identity(indexed: &IndexedEvent) -> (i64, u64, String) {
    (
        indexed.timestamp,
        indexed.subaccount.unwrap_or(0),
        indexed.event_id.clone(),
    )
}

impl EventWriter for MemoryEventStore {
    fn insert_checked(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
        may_store: MayStore<'_>,
    ) -> Result<InsertReport, AnalyticsError> {
        let mut stored = self.lock()?;
        let mut report = InsertReport::default();
        for StoredEvent { indexed, json } in batch.events() {
            if !may_store(indexed) {
                report.erased += 1;
                continue;
            }
            if !stored.ids.insert(identity(indexed)) {
                report.duplicates += 1;
                continue;
            }
            stored.last_seq += 1;
            let seq = stored.last_seq;
            // Checked as UTF-8 when the batch was read.
            let json = String::from_utf8_lossy(json).into_owned();
            stored.rows.push(Row {
                seq,
                indexed: indexed.clone(),
                json,
            });
            report.inserted += 1;
        }
        stored.position = stored.position.max(position);
        Ok(report)
    }

    fn checkpoint(&self) -> Result<Option<u64>, AnalyticsError> {
        Ok(self.lock()?.position)
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let mut stored = self.lock()?;
        let bound = keep_from.timestamp();
        let mut dropped_days = BTreeSet::new();
        let Stored { rows, ids, .. } = &mut *stored;
        rows.retain(|row| {
            let day = row.indexed.timestamp.div_euclid(DAY_SECONDS);
            let drop = (day + 1) * DAY_SECONDS <= bound;
            if drop {
                dropped_days.insert(day);
                ids.remove(&identity(&row.indexed));
            }
            !drop
        });
        Ok(RetentionReport {
            dropped: dropped_days
                .into_iter()
                .map(|day| format!("events/{}", day_name(day)))
                .collect(),
        })
    }

    fn erase_recipient(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError> {
        let mut stored = self.lock()?;
        let mut report = ErasureReport::default();
        let Stored { rows, ids, .. } = &mut *stored;
        rows.retain(|row| {
            let erase = row.indexed.names_recipient(recipient);
            if erase {
                *report.erased.entry(row.indexed.event_type).or_default() += 1;
                ids.remove(&identity(&row.indexed));
            }
            !erase
        });
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use eventhose_model::EventType;
    use eventhose_test_support::sample_events::{event, six_events};
    use serde_json::{json, Value};

    use super::*;
    use crate::{EventCursor, EventFilters, TextFilter};

    /// 2023-11-14T22:13:20Z.
    const T0: i64 = 1_700_000_000;

    fn insert(store: &MemoryEventStore, events: &[Vec<u8>]) -> InsertReport {
        let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        store
            .insert(&EventBatch::read(&slices).unwrap(), None)
            .unwrap()
    }

    fn query(filters: EventFilters) -> EventQuery {
        EventQuery {
            from: T0 - 10_000,
            to: T0 + 10_000,
            filters,
            per_page: 100,
            max_bytes: usize::MAX,
            cursor: None,
        }
    }

    fn ids(page: &EventPage) -> Vec<String> {
        page.events
            .iter()
            .map(|e| {
                let value: Value = serde_json::from_str(e).unwrap();
                value["event_id"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// The ids `filters` select in the sample store.
    fn selected(store: &MemoryEventStore, filters: EventFilters) -> Vec<String> {
        ids(&store.search(&query(filters)).unwrap())
    }

    fn filter(filter: TextFilter, values: &[&str]) -> EventFilters {
        let mut filters = EventFilters::default();
        filters.set_text(filter, values.iter().map(|v| v.to_string()).collect());
        filters
    }

    /// Six events, ids e1..e6 in time order (e6 newest), ten seconds apart from `T0`.
    fn sample() -> MemoryEventStore {
        let store = MemoryEventStore::new();
        insert(&store, &six_events(T0, 10, |n| format!("e{n}")));
        store
    }

    #[test]
    fn inserts_are_idempotent_by_event_id_and_all_or_nothing() {
        let store = MemoryEventStore::new();
        let report = insert(
            &store,
            &[
                event("open", T0, "a", json!({})),
                event("open", T0, "a", json!({"subject": "changed"})),
                event("open", T0 + 1, "b", json!({})),
            ],
        );
        assert_eq!(
            report,
            InsertReport {
                inserted: 2,
                duplicates: 1,
                erased: 0
            }
        );
        let again = insert(&store, &[event("open", T0 + 1, "b", json!({}))]);
        assert_eq!(
            again,
            InsertReport {
                inserted: 0,
                duplicates: 1,
                erased: 0
            }
        );
        // The same id at another second is another event.
        let other = insert(&store, &[event("open", T0 + 5, "b", json!({}))]);
        assert_eq!(other.inserted, 1);
        let page = store.search(&query(EventFilters::default())).unwrap();
        assert_eq!(page.total_count, 3);
        assert!(!page.events.iter().any(|e| e.contains("changed")));

        let bad = [
            event("open", T0, "c", json!({})),
            b"{\"type\":\"open\"}".to_vec(),
        ];
        let slices: Vec<&[u8]> = bad.iter().map(Vec::as_slice).collect();
        let refused = EventBatch::read(&slices).unwrap_err().to_string();
        assert!(refused.contains("event 1"), "{refused}");
    }

    #[test]
    fn checkpoint_keeps_the_highest_position() {
        let store = MemoryEventStore::new();
        let one = event("open", T0, "a", json!({}));
        let batch = || EventBatch::read(&[&one]).unwrap();
        store.insert(&batch(), Some(5)).unwrap();
        store.insert(&EventBatch::default(), None).unwrap();
        assert_eq!(store.checkpoint().unwrap(), Some(5));
        store.insert(&batch(), Some(8)).unwrap();
        assert_eq!(store.checkpoint().unwrap(), Some(8));
    }

    #[test]
    fn events_come_newest_first_and_whole() {
        let store = sample();
        let page = store.search(&query(EventFilters::default())).unwrap();
        assert_eq!(ids(&page), ["e6", "e5", "e4", "e3", "e2", "e1"]);
        assert_eq!(page.total_count, 6);
        assert_eq!(page.next, None);
        let original = event("open", T0 + 50, "e6", json!({"rcpt_to": "cy@hotmail.com"}));
        assert_eq!(page.events[0].as_bytes(), original.as_slice());
    }

    #[test]
    fn time_range_is_half_open() {
        let store = sample();
        let mut q = query(EventFilters::default());
        q.from = T0 + 10;
        q.to = T0 + 40;
        assert_eq!(ids(&store.search(&q).unwrap()), ["e4", "e3", "e2"]);
    }

    #[test]
    fn ties_in_time_order_the_last_stored_first() {
        let store = MemoryEventStore::new();
        insert(
            &store,
            &[
                event("open", T0, "10", json!({})),
                event("open", T0, "9", json!({})),
                event("open", T0, "11", json!({})),
            ],
        );
        let page = store.search(&query(EventFilters::default())).unwrap();
        assert_eq!(ids(&page), ["11", "9", "10"]);
    }

    #[test]
    fn every_typed_filter() {
        let store = sample();
        let types = EventFilters {
            event_types: vec![EventType::Bounce, EventType::Open],
            ..EventFilters::default()
        };
        assert_eq!(selected(&store, types), ["e6", "e3"]);
        let classes = EventFilters {
            bounce_classes: vec![21, 25],
            ..EventFilters::default()
        };
        assert_eq!(selected(&store, classes), ["e4"]);
        let primary = EventFilters {
            subaccounts: vec![0],
            ..EventFilters::default()
        };
        assert_eq!(selected(&store, primary), ["e6", "e5", "e2", "e1"]);
        let seven = EventFilters {
            subaccounts: vec![7],
            ..EventFilters::default()
        };
        assert_eq!(selected(&store, seven), ["e4", "e3"]);
        let versions = EventFilters {
            ab_test_versions: vec![2],
            ..EventFilters::default()
        };
        assert_eq!(selected(&store, versions), ["e1"]);
    }

    #[test]
    fn every_text_filter() {
        let store = sample();
        let cases: [(TextFilter, &[&str], &[&str]); 16] = [
            (TextFilter::EventIds, &["e2", "e5", "E6"], &["e5", "e2"]),
            (TextFilter::Recipients, &["ANN@gmail.com"], &["e2", "e1"]),
            (TextFilter::RecipientDomains, &["yahoo"], &["e3"]),
            (TextFilter::FromAddresses, &["news@acme.com"], &["e1"]),
            (TextFilter::SendingDomains, &["acme"], &["e1"]),
            (TextFilter::Subjects, &["friday"], &["e1"]),
            (TextFilter::Reasons, &["unknown", "later"], &["e4", "e3"]),
            (TextFilter::Campaigns, &["blackfriday"], &["e2", "e1"]),
            (TextFilter::Templates, &["tpl"], &["e5", "e1"]),
            (TextFilter::SendingIps, &["10.0.0.1"], &["e2", "e1"]),
            (TextFilter::IpPools, &["pool"], &["e1"]),
            (TextFilter::Messages, &["m1"], &["e2", "e1"]),
            (TextFilter::Transmissions, &["100"], &["e2", "e1"]),
            (TextFilter::MailboxProviders, &["gmail"], &["e2"]),
            (TextFilter::MailboxProviderRegions, &["uk"], &["e3"]),
            (TextFilter::AbTests, &["subject"], &["e5", "e1"]),
        ];
        for (text_filter, values, expected) in cases {
            assert_eq!(
                selected(&store, filter(text_filter, values)),
                expected,
                "{text_filter:?}"
            );
        }
    }

    #[test]
    fn keyword_filters_match_whole_keywords_only() {
        let store = sample();
        // `friday` is e3's whole campaign, but only part of e1/e2's `blackfriday-specials`.
        assert_eq!(
            selected(&store, filter(TextFilter::Campaigns, &["friday"])),
            ["e3"]
        );
        assert_eq!(
            selected(
                &store,
                filter(TextFilter::Campaigns, &["specials-BLACKFRIDAY"])
            ),
            ["e2", "e1"]
        );
        assert!(selected(&store, filter(TextFilter::Reasons, &["unknow"])).is_empty());
        assert_eq!(
            selected(&store, filter(TextFilter::RecipientDomains, &["co.uk"])),
            ["e3"]
        );
        assert!(
            selected(&store, filter(TextFilter::SendingIps, &["10.0.0"])).is_empty(),
            "exact filters do not match parts"
        );
        assert!(selected(&store, filter(TextFilter::Campaigns, &["-"])).is_empty());
    }

    #[test]
    fn filters_combine_with_and_across_and_or_within() {
        let store = sample();
        let mut filters = filter(
            TextFilter::Recipients,
            &["ann@gmail.com", "bob@yahoo.co.uk"],
        );
        filters.event_types = vec![EventType::Delivery, EventType::Delay];
        assert_eq!(selected(&store, filters.clone()), ["e4", "e2"]);
        filters.subaccounts = vec![7];
        assert_eq!(selected(&store, filters.clone()), ["e4"]);
        filters.set_text(TextFilter::Campaigns, vec!["friday".into()]);
        assert!(selected(&store, filters).is_empty(), "e4 has no campaign");
    }

    /// Follows `next` from the first page to the last, inserting `between` before each later page.
    fn walk(
        store: &MemoryEventStore,
        first: EventQuery,
        mut between: impl FnMut(usize),
    ) -> (Vec<String>, Vec<u64>) {
        let mut seen = Vec::new();
        let mut totals = Vec::new();
        let mut q = first;
        for page_number in 0..100 {
            let page = store.search(&q).unwrap();
            assert!(page.events.len() <= q.per_page);
            seen.extend(ids(&page));
            totals.push(page.total_count);
            match page.next {
                Some(next) => q.cursor = Some(next),
                None => return (seen, totals),
            }
            between(page_number);
        }
        panic!("paging did not end");
    }

    #[test]
    fn paging_is_stable_while_events_arrive() {
        let store = sample();
        let mut q = query(EventFilters::default());
        q.per_page = 2;
        let mut extra = 0;
        let (seen, totals) = walk(&store, q.clone(), |_| {
            // Newer, older and in-between events arrive between pages.
            for at in [T0 + 100, T0 + 25, T0 - 5, T0 + 45] {
                extra += 1;
                insert(
                    &store,
                    &[event("open", at, &format!("x{extra}"), json!({}))],
                );
            }
        });
        assert_eq!(
            seen,
            ["e6", "e5", "e4", "e3", "e2", "e1"],
            "no gap, no repeat"
        );
        assert_eq!(totals, [6, 6, 6]);
        // A new search sees everything.
        let fresh = store.search(&query(EventFilters::default())).unwrap();
        assert_eq!(fresh.total_count, 6 + extra);
    }

    #[test]
    fn pages_split_exactly_and_the_last_has_no_next() {
        let store = sample();
        let mut q = query(filter(
            TextFilter::Recipients,
            &["ann@gmail.com", "cy@hotmail.com"],
        ));
        q.per_page = 2;
        let first = store.search(&q).unwrap();
        assert_eq!(ids(&first), ["e6", "e5"]);
        assert_eq!(first.total_count, 4);
        let next = first.next.clone().unwrap();
        assert_eq!((next.timestamp, next.seq), (T0 + 40, 5), "e5, stored fifth");
        q.cursor = Some(next);
        let second = store.search(&q).unwrap();
        assert_eq!(ids(&second), ["e2", "e1"]);
        assert_eq!(second.total_count, 4);
        assert_eq!(second.next, None, "nothing follows");
        q.per_page = 0;
        assert!(matches!(store.search(&q), Err(AnalyticsError::Invalid(_))));
    }

    #[test]
    fn a_cursor_snapshot_hides_later_events() {
        let store = sample();
        let cursor = EventCursor {
            timestamp: T0 + 1_000,
            seq: 0,
            snapshot: 3,
        };
        let mut q = query(EventFilters::default());
        q.cursor = Some(cursor);
        let page = store.search(&q).unwrap();
        assert_eq!(ids(&page), ["e3", "e2", "e1"]);
        assert_eq!(page.total_count, 3);
    }

    #[test]
    fn retention_drops_whole_utc_days() {
        let store = MemoryEventStore::new();
        let day = DAY_SECONDS;
        let start = T0.div_euclid(day) * day;
        insert(
            &store,
            &[
                event("open", start - 1, "prev", json!({})),
                event("open", start, "first", json!({})),
                event("open", start + day - 1, "last", json!({})),
                event("open", start + day, "next-day", json!({})),
            ],
        );
        // The bound falls inside the second day: the days before it go, the second stays.
        let keep_from = DateTime::from_timestamp(start + day + 3_600, 0).unwrap();
        let report = store.enforce_retention(keep_from).unwrap();
        assert_eq!(
            report.dropped,
            [
                format!("events/{}", day_name(start / day - 1)),
                format!("events/{}", day_name(start / day)),
            ]
        );
        let mut q = query(EventFilters::default());
        q.from = start - day;
        q.to = start + 2 * day;
        assert_eq!(ids(&store.search(&q).unwrap()), ["next-day"]);
        // Nothing left to drop: an empty report.
        assert!(store
            .enforce_retention(keep_from)
            .unwrap()
            .dropped
            .is_empty());
        // A dropped event is forgotten: inserted again, it is stored again.
        let again = insert(&store, &[event("open", start, "first", json!({}))]);
        assert_eq!(again.inserted, 1);
    }

    #[test]
    fn erasure_removes_every_event_naming_the_recipient() {
        let store = sample();
        insert(
            &store,
            &[event(
                "bounce",
                T0 + 60,
                "raw-only",
                json!({"raw_rcpt_to": "Bob@Yahoo.co.uk"}),
            )],
        );
        let report = store.erase_recipient("BOB@yahoo.CO.uk").unwrap();
        assert_eq!(
            report.erased,
            BTreeMap::from([(EventType::Bounce, 2), (EventType::Delay, 1)])
        );
        assert_eq!(report.total(), 3);
        assert_eq!(
            selected(&store, EventFilters::default()),
            ["e6", "e5", "e2", "e1"]
        );
        assert_eq!(store.erase_recipient("bob@yahoo.co.uk").unwrap().total(), 0);
        assert_eq!(
            store.erase_recipient("nobody@x.com").unwrap(),
            ErasureReport::default()
        );
    }
}
