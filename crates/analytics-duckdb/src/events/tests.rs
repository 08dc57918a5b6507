//! Tests of the event tables through the store: erasure on disk and in the dictionaries, the
//! layout upgrade, lookups over busy days, dictionaries read back, burial after a crash.

use duckdb::Connection;
use eventhose_analytics::{
    EventBatch, EventFilters, EventQuery, EventReader, EventWriter, IndexedEvent, TextFilter,
};
use eventhose_model::EventType;

use super::layout::{self, day_table, DAY};
use super::search::LOOKUP_ROWS;
use super::upgrade::day_table_layouts;
use super::{dictionary, query_column};
use crate::{DuckOptions, DuckStore};

/// 2026-11-20T00:00:00Z.
const START: i64 = 1_795_132_800;

/// 1,500 events a second apart (several body blocks), every third one to
/// `gone@example.com`.
fn events() -> Vec<Vec<u8>> {
    (0..1_500)
        .map(|i| {
            let rcpt = if i % 3 == 0 { "gone" } else { "kept" };
            format!(
                r#"{{"type":"delivery","timestamp":"{}","event_id":"e{i}","message_id":"m{i}","rcpt_to":"{rcpt}@example.com"}}"#,
                START + i
            )
            .into_bytes()
        })
        .collect()
}

fn insert(store: &DuckStore, events: &[Vec<u8>]) {
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let batch = EventBatch::read(&slices).expect("readable");
    store.insert(&batch, Some(1)).expect("insert");
}

fn search(store: &DuckStore) -> Vec<String> {
    let query = EventQuery {
        from: START,
        to: START + DAY,
        filters: EventFilters::default(),
        per_page: 10_000,
        max_bytes: usize::MAX,
        cursor: None,
    };
    store.search(&query).expect("search").events
}

#[test]
fn erasure_leaves_no_body_of_the_recipient_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.duckdb");
    let table = day_table(START / DAY);
    {
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        insert(&store, &events());
        let report = store.erase_recipient("Gone@Example.com").unwrap();
        assert_eq!(report.total(), 500);
        let on_disk = store.bodies.all(&table).unwrap();
        assert!(on_disk.iter().all(|b| !b.contains("gone@")));
        assert_eq!(
            on_disk.iter().filter(|b| b.contains("kept@")).count(),
            1_000
        );
        let found = search(&store);
        assert_eq!(found.len(), 1_000);
        assert!(found.iter().all(|b| b.contains("kept@")));
    }
    // And after reopening.
    let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
    assert_eq!(search(&store).len(), 1_000);
}

#[test]
fn a_store_of_the_previous_layout_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.duckdb");
    let table = day_table(START / DAY);
    let events: Vec<Vec<u8>> = (0..10)
        .map(|i| {
            let kind = if i % 2 == 0 { "delivery" } else { "bounce" };
            format!(
                r#"{{"type":"{kind}","timestamp":"{}","event_id":"e{i}"}}"#,
                START + i
            )
            .into_bytes()
        })
        .collect();
    insert(
        &DuckStore::open(&path, &DuckOptions::default()).unwrap(),
        &events,
    );
    // Rewritten as the previous layout kept it: the event id as text after `ts`, the
    // type by name.
    {
        let conn = Connection::open(&path).unwrap();
        let names: Vec<String> = layout::column_list()
            .split(", ")
            .filter_map(|c| c.split(' ').next().map(str::to_owned))
            .filter(|name| !["seq", "ts", "type"].contains(&name.as_str()))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE old AS SELECT seq, ts, 'e' || (ts - {START}) AS event_id, \
             CASE type WHEN 1 THEN 'delivery' ELSE 'bounce' END AS type, {} FROM {table}; \
             DROP TABLE {table}; ALTER TABLE old RENAME TO {table};",
            names.join(", ")
        ))
        .unwrap();
        assert_eq!(
            day_table_layouts(&conn).unwrap(),
            [(table.clone(), layout::previous_column_list())]
        );
    }
    let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
    let mut query = EventQuery {
        from: START,
        to: START + DAY,
        filters: EventFilters {
            event_types: vec![EventType::Bounce],
            ..EventFilters::default()
        },
        per_page: 100,
        max_bytes: usize::MAX,
        cursor: None,
    };
    let bounces = store.search(&query).unwrap().events;
    let expected: Vec<i64> = (0..10)
        .rev()
        .filter(|i| i % 2 == 1)
        .map(|i| START + i)
        .collect();
    assert_eq!(
        bounces.iter().map(|b| timestamp_of(b)).collect::<Vec<_>>(),
        expected
    );
    query.filters = EventFilters::default();
    assert_eq!(store.search(&query).unwrap().total_count, 10);
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let again = store
        .insert(&EventBatch::read(&slices).unwrap(), Some(2))
        .unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 10));
    drop(store);

    // Any other layout is refused, naming the table.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE events_20990101 (x INTEGER)")
        .unwrap();
    drop(conn);
    let refused = DuckStore::open(&path, &DuckOptions::default())
        .err()
        .unwrap();
    assert!(refused.to_string().contains("events_20990101"), "{refused}");
}

/// The timestamp of a stored form written by the tests here.
fn timestamp_of(body: &str) -> i64 {
    IndexedEvent::from_stored(body.as_bytes())
        .expect("stored form")
        .timestamp
}

#[test]
fn a_lookup_pages_alike_whether_a_day_is_read_whole_or_counted() {
    let busy = |i: i64, at: i64| {
        format!(
            r#"{{"type":"delivery","timestamp":"{at}","event_id":"b{i}","rcpt_to":"busy@example.com"}}"#
        )
        .into_bytes()
    };
    // More matches than a lookup reads at once on the first day, a few on the second.
    let first_day = LOOKUP_ROWS as i64 + 100;
    let mut stored: Vec<Vec<u8>> = (0..first_day).map(|i| busy(i, START + i)).collect();
    stored.extend((0..50).map(|i| busy(first_day + i, START + DAY + i)));
    // And one of another recipient.
    stored.push(events()[1].clone());
    let dir = tempfile::tempdir().unwrap();
    let store = DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).unwrap();
    insert(&store, &stored);
    let mut filters = EventFilters::default();
    filters.set_text(TextFilter::Recipients, vec!["Busy@Example.com".into()]);
    let mut query = EventQuery {
        from: START,
        to: START + 2 * DAY,
        filters,
        per_page: 7_000,
        max_bytes: usize::MAX,
        cursor: None,
    };
    let mut found = Vec::new();
    for _ in 0..10 {
        let page = store.search(&query).unwrap();
        assert_eq!(page.total_count, first_day as u64 + 50);
        found.extend(page.events);
        match page.next {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let times: Vec<i64> = found.iter().map(|b| timestamp_of(b)).collect();
    assert_eq!(
        times.len(),
        usize::try_from(first_day).unwrap() + 50,
        "every match once"
    );
    assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(times[0], START + DAY + 49);
}

/// The dictionary values of the store's `filter` for the day of `START`.
fn dictionary_values(store: &DuckStore, filter: TextFilter) -> Vec<String> {
    let table = dictionary::values_table(&day_table(START / DAY));
    let writer = store.events_writer().unwrap();
    let sql = format!(
        "SELECT raw FROM {table} WHERE filter = {} ORDER BY id",
        filter.index()
    );
    query_column(&writer.conn, &sql, &[]).unwrap()
}

fn campaign_search(store: &DuckStore, campaign: &str) -> u64 {
    let mut filters = EventFilters::default();
    filters.set_text(TextFilter::Campaigns, vec![campaign.into()]);
    let query = EventQuery {
        from: START,
        to: START + DAY,
        filters,
        per_page: 10,
        max_bytes: usize::MAX,
        cursor: None,
    };
    store.search(&query).expect("search").total_count
}

#[test]
fn erasure_removes_the_dictionary_values_only_its_rows_used() {
    let event = |i: i64, rcpt: &str, campaign: &str| {
        format!(
            r#"{{"type":"bounce","timestamp":"{}","event_id":"d{i}","rcpt_to":"{rcpt}","reason":"550 {rcpt} unknown","campaign_id":"{campaign}"}}"#,
            START + i
        )
        .into_bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.duckdb");
    {
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        insert(
            &store,
            &[
                event(0, "gone@example.com", "Shared"),
                event(1, "kept@example.com", "Shared"),
                event(2, "gone@example.com", "Only Gone"),
            ],
        );
        assert_eq!(campaign_search(&store, "only"), 1);
        store.erase_recipient("gone@example.com").unwrap();
        assert_eq!(
            dictionary_values(&store, TextFilter::Reasons),
            ["550 kept@example.com unknown"]
        );
        assert_eq!(dictionary_values(&store, TextFilter::Campaigns), ["Shared"]);
        assert_eq!(campaign_search(&store, "only"), 0);
        // A new value after the erasure gets an id of its own.
        insert(&store, &[event(3, "new@example.com", "Fresh")]);
        assert_eq!(campaign_search(&store, "fresh"), 1);
        assert_eq!(campaign_search(&store, "shared"), 1);
    }
    // After reopening, ids continue past every id given, erased ones too.
    let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
    insert(&store, &[event(4, "later@example.com", "Later")]);
    assert_eq!(campaign_search(&store, "later"), 1);
    assert_eq!(campaign_search(&store, "fresh"), 1);
    assert_eq!(campaign_search(&store, "shared"), 1);
    assert_eq!(
        dictionary_values(&store, TextFilter::Campaigns),
        ["Shared", "Fresh", "Later"]
    );
}

#[test]
fn a_day_whose_dictionary_was_dropped_from_memory_reads_it_back() {
    let event = |day: i64, i: i64, campaign: &str| {
        format!(
            r#"{{"type":"delivery","timestamp":"{}","event_id":"{day}-{i}","rcpt_to":"a@example.com","campaign_id":"{campaign}"}}"#,
            START + day * DAY + i
        )
        .into_bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).unwrap();
    insert(&store, &[event(0, 0, "First"), event(0, 1, "Second")]);
    // Two later days push the first day's dictionary out of memory.
    insert(&store, &[event(1, 0, "Other")]);
    insert(&store, &[event(2, 0, "Other")]);
    assert!(!store
        .events_writer()
        .unwrap()
        .dictionaries
        .contains_key(&day_table(START / DAY)));
    insert(&store, &[event(0, 2, "Second"), event(0, 3, "Third")]);
    assert_eq!(
        dictionary_values(&store, TextFilter::Campaigns),
        ["First", "Second", "Third"]
    );
    assert_eq!(campaign_search(&store, "second"), 2);
    assert_eq!(campaign_search(&store, "third"), 1);
    assert_eq!(campaign_search(&store, "first"), 1);
}

#[test]
fn a_crash_before_burial_is_buried_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.duckdb");
    let table = day_table(START / DAY);
    {
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        insert(&store, &events());
        // The erasure committed, and the process died before burying the old blocks.
        let mut writer = store.events_writer().unwrap();
        let report = store.erase_rows(&mut writer, "gone@example.com").unwrap();
        assert_eq!(report.total(), 500);
        let on_disk = store.bodies.all(&table).unwrap();
        assert!(
            on_disk.iter().any(|b| b.contains("gone@")),
            "not buried yet"
        );
    }
    let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
    let on_disk = store.bodies.all(&table).unwrap();
    assert!(on_disk.iter().all(|b| !b.contains("gone@")));
    let found = search(&store);
    assert_eq!(found.len(), 1_000);
    assert!(found.iter().all(|b| b.contains("kept@")));
}
