//! The DuckDB event store against the in-memory reference store: same inserts, same pages.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use eventhose_analytics::{
    AnalyticsError, EventBatch, EventFilters, EventPage, EventQuery, EventReader, EventWriter,
    MemoryEventStore, TextFilter,
};
use eventhose_analytics_duckdb::{DuckOptions, DuckStore};
use eventhose_model::{Event, EventType};

/// 2026-11-20T00:00:00Z.
const START: i64 = 1_795_132_800;

fn stored_events(n: usize, seed: u64) -> Vec<Vec<u8>> {
    // One event every 30 simulated seconds: a few thousand events span two days.
    common::simulated_events(n, seed, START, 1.0 / 30.0)
}

fn stores() -> (tempfile::TempDir, DuckStore, MemoryEventStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck =
        DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).expect("open");
    (dir, duck, MemoryEventStore::new())
}

fn insert_both(duck: &DuckStore, memory: &MemoryEventStore, events: &[Vec<u8>], position: u64) {
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let batch = EventBatch::read(&slices).expect("readable events");
    let a = duck.insert(&batch, Some(position)).expect("duck insert");
    let b = memory
        .insert(&batch, Some(position))
        .expect("memory insert");
    assert_eq!(a, b, "insert reports");
}

/// Every page of a search, by following cursors.
fn all_pages(store: &dyn EventReader, mut query: EventQuery) -> Vec<EventPage> {
    let mut pages = Vec::new();
    for _ in 0..10_000 {
        let page = store.search(&query).expect("search");
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(cursor) => query.cursor = Some(cursor),
            None => return pages,
        }
    }
    panic!("paging does not end");
}

fn query(filters: EventFilters, per_page: usize) -> EventQuery {
    EventQuery {
        from: START - 86_400,
        to: START + 10 * 86_400,
        filters,
        per_page,
        max_bytes: usize::MAX,
        cursor: None,
    }
}

fn filter_cases() -> Vec<EventFilters> {
    let mut cases = vec![EventFilters::default()];
    cases.push(EventFilters {
        event_types: vec![EventType::Delivery, EventType::Bounce, EventType::Click],
        ..Default::default()
    });
    // Every type: the day tables are searched without a type condition.
    cases.push(EventFilters {
        event_types: EventType::ALL.to_vec(),
        ..Default::default()
    });
    // Every type but one the days hold: the condition stays.
    cases.push(EventFilters {
        event_types: EventType::ALL
            .into_iter()
            .filter(|t| *t != EventType::Delivery)
            .collect(),
        ..Default::default()
    });
    for (filter, value) in [
        (TextFilter::RecipientDomains, "gmail"),
        (TextFilter::RecipientDomains, "com"),
        (TextFilter::Campaigns, "newsletter"),
        (TextFilter::Reasons, "mailbox"),
        (TextFilter::Subjects, "your"),
        (TextFilter::IpPools, "default"),
        (TextFilter::MailboxProviders, "gmail"),
    ] {
        let mut f = EventFilters::default();
        f.set_text(filter, vec![value.into()]);
        cases.push(f);
    }
    cases.push(EventFilters {
        subaccounts: vec![0],
        bounce_classes: vec![10, 21],
        ..Default::default()
    });
    cases
}

/// Lookups by hash of values the events hold: recipients, messages and event ids, a few of
/// each at once.
fn lookup_cases(events: &[Vec<u8>]) -> Vec<EventFilters> {
    let picked: Vec<Event> = events
        .iter()
        .step_by(97)
        .take(5)
        .map(|e| Event::from_stored(e).expect("stored"))
        .collect();
    let values = |read: fn(&Event) -> Option<String>| picked.iter().filter_map(read).collect();
    let mut cases = Vec::new();
    for (filter, read) in [
        (
            TextFilter::Recipients,
            (|e: &Event| e.rcpt_to().map(str::to_uppercase)) as fn(&Event) -> Option<String>,
        ),
        (TextFilter::Messages, |e: &Event| {
            e.message_id().map(str::to_owned)
        }),
        (TextFilter::EventIds, |e: &Event| {
            Some(e.event_id().to_owned())
        }),
    ] {
        let mut f = EventFilters::default();
        f.set_text(filter, values(read));
        cases.push(f);
    }
    cases
}

/// Follows every page of a search in both stores and asserts they are the same; the total.
fn assert_pages_alike(
    duck: &DuckStore,
    memory: &MemoryEventStore,
    filters: &EventFilters,
    per_page: usize,
) -> u64 {
    let q = query(filters.clone(), per_page);
    let a = all_pages(duck, q.clone());
    let b = all_pages(memory, q);
    assert_eq!(a.len(), b.len(), "pages for {filters:?}");
    for (pa, pb) in a.iter().zip(&b) {
        assert_eq!(pa.events, pb.events, "{filters:?}");
        assert_eq!(pa.total_count, pb.total_count, "{filters:?}");
        // The stores may number the events of one insert differently (only their order
        // within a second is the contract, and the pages above compare it).
        assert_eq!(
            pa.next.as_ref().map(|c| (c.timestamp, c.snapshot)),
            pb.next.as_ref().map(|c| (c.timestamp, c.snapshot)),
        );
    }
    a[0].total_count
}

#[test]
fn events_of_one_second_page_alike_in_both_stores() {
    let (_dir, duck, memory) = stores();
    // Forty events in two seconds, stored by three inserts; their ids are not in the order
    // they were stored.
    let events: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            format!(
                r#"{{"type":"delivery","timestamp":"{}","event_id":"t{}","rcpt_to":"a@example.com"}}"#,
                START + i % 2,
                (i * 7) % 40
            )
            .into_bytes()
        })
        .collect();
    for (i, chunk) in events.chunks(15).enumerate() {
        insert_both(&duck, &memory, chunk, i as u64 + 1);
    }
    let mut by_recipient = EventFilters::default();
    by_recipient.set_text(TextFilter::Recipients, vec!["a@example.com".into()]);
    for filters in [EventFilters::default(), by_recipient] {
        for per_page in [1_000, 3] {
            assert_eq!(assert_pages_alike(&duck, &memory, &filters, per_page), 40);
        }
    }
}

#[test]
fn searches_match_the_reference_store_page_by_page() {
    let (_dir, duck, memory) = stores();
    let events = stored_events(4_000, 5);
    for (i, chunk) in events.chunks(900).enumerate() {
        insert_both(&duck, &memory, chunk, i as u64 + 1);
    }
    // A redelivered chunk stores nothing.
    insert_both(&duck, &memory, &events[..900], 99);
    let mut nonempty = 0;
    // Lookups match few events: small pages make them page too.
    let cases = filter_cases()
        .into_iter()
        .map(|f| (f, [1_000, 37]))
        .chain(lookup_cases(&events).into_iter().map(|f| (f, [1_000, 2])));
    for (filters, page_sizes) in cases {
        for per_page in page_sizes {
            let total = assert_pages_alike(&duck, &memory, &filters, per_page);
            nonempty += usize::from(total > 0);
        }
    }
    assert!(nonempty >= 25, "the filters select something");
    // Known ids: a message's whole history.
    let first = Event::from_stored(&events[0]).expect("stored");
    let mut by_message = EventFilters::default();
    by_message.set_text(
        TextFilter::Messages,
        vec![first.message_id().expect("message id").to_owned()],
    );
    let page = duck.search(&query(by_message, 100)).expect("search");
    assert!(page.total_count >= 1);
}

#[test]
fn paging_is_stable_while_events_arrive() {
    let (_dir, duck, _memory) = stores();
    let events = stored_events(3_000, 8);
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let batch = |events: &[&[u8]]| EventBatch::read(events).expect("readable events");
    duck.insert(&batch(&slices[..2_000]), Some(1))
        .expect("insert");
    let mut q = query(EventFilters::default(), 150);
    let mut seen = std::collections::HashSet::new();
    let mut total = None;
    let mut arriving = slices[2_000..].chunks(100);
    loop {
        let page = duck.search(&q).expect("search");
        assert_eq!(*total.get_or_insert(page.total_count), page.total_count);
        for event in &page.events {
            assert!(seen.insert(event.clone()), "an event came twice");
        }
        // New events (some older than the cursor) arrive between pages.
        if let Some(more) = arriving.next() {
            duck.insert(&batch(more), None).expect("insert more");
        }
        match page.next {
            Some(cursor) => q.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, total.expect("a page"));
    assert_eq!(
        seen.len(),
        2_000,
        "exactly the events stored before the first page"
    );
}

#[test]
fn retention_and_erasure_remove_what_they_say() {
    let (_dir, duck, memory) = stores();
    let events = stored_events(3_000, 9);
    insert_both(&duck, &memory, &events, 1);
    let recipient = Event::from_stored(&events[0])
        .expect("stored")
        .rcpt_to()
        .expect("recipient")
        .to_uppercase();
    let a = duck.erase_recipient(&recipient).expect("erase");
    let b = memory.erase_recipient(&recipient).expect("erase");
    assert_eq!(a, b);
    assert!(a.total() >= 1, "the recipient had events");
    let mut by_recipient = EventFilters::default();
    by_recipient.set_text(TextFilter::Recipients, vec![recipient.clone()]);
    assert_eq!(
        duck.search(&query(by_recipient, 10))
            .expect("search")
            .total_count,
        0
    );

    let keep_from = chrono::DateTime::from_timestamp(START + 86_400, 0).expect("time");
    let dropped = duck.enforce_retention(keep_from).expect("retention");
    assert_eq!(dropped.dropped, vec!["events_20261120".to_owned()]);
    memory.enforce_retention(keep_from).expect("retention");
    let q = query(EventFilters::default(), 10_000);
    assert_eq!(
        duck.search(&q).expect("search").total_count,
        memory.search(&q).expect("search").total_count
    );
    assert_eq!(duck.checkpoint().expect("checkpoint"), Some(1));
}

#[test]
fn redeliveries_are_found_in_the_window_before_it_and_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.duckdb");
    // One event every 30 s for 33 hours; the window remembers the last hour.
    let events = stored_events(4_000, 3);
    let memory = MemoryEventStore::new();
    {
        let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open");
        insert_both(&duck, &memory, &events[..3_000], 1);
        // Recent events (answered by the window) and old ones (looked up in their day).
        insert_both(&duck, &memory, &events[2_950..3_050], 2);
        insert_both(&duck, &memory, &events[..50], 3);
    }
    // A reopened store reads the window back from its tables.
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    insert_both(&duck, &memory, &events[2_900..3_100], 4);
    // An erased recipient's events are forgotten: delivered again, they are stored again.
    let last = Event::from_stored(&events[3_099]).expect("stored");
    let recipient = last.rcpt_to().expect("recipient").to_owned();
    assert_eq!(
        duck.erase_recipient(&recipient).expect("erase"),
        memory.erase_recipient(&recipient).expect("erase")
    );
    insert_both(&duck, &memory, &events[3_000..3_100], 5);
    let q = query(EventFilters::default(), 10_000);
    let (a, b) = (
        duck.search(&q).expect("search"),
        memory.search(&q).expect("search"),
    );
    assert_eq!(a.total_count, b.total_count);
    assert!(a.total_count > 3_000, "the erased events came back");
    assert_eq!(a.events, b.events);
}

#[test]
fn an_empty_window_still_finds_every_redelivery() {
    let options = DuckOptions {
        event_id_window: std::time::Duration::ZERO,
        ..DuckOptions::default()
    };
    every_redelivery_is_found(&options);
}

#[test]
fn a_window_at_its_bound_still_finds_every_redelivery() {
    let options = DuckOptions {
        event_id_window_max: 50,
        ..DuckOptions::default()
    };
    every_redelivery_is_found(&options);
}

/// Inserts events, then again with more, and checks each is stored once.
fn every_redelivery_is_found(options: &DuckOptions) {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck = DuckStore::open(&dir.path().join("a.duckdb"), options).expect("open");
    let memory = MemoryEventStore::new();
    let events = stored_events(1_000, 4);
    insert_both(&duck, &memory, &events, 1);
    insert_both(&duck, &memory, &events[400..], 2);
    let q = query(EventFilters::default(), 10_000);
    assert_eq!(duck.search(&q).expect("search").total_count, 1_000);
}

#[test]
fn the_store_says_how_much_memory_it_holds() {
    let (_dir, duck, memory) = stores();
    let before = duck.memory_bytes().expect("memory");
    insert_both(&duck, &memory, &stored_events(5_000, 9), 1);
    let after = duck.memory_bytes().expect("memory");
    assert!(
        after > before,
        "{before} → {after} bytes after 5,000 events"
    );
}

/// The events an insert's check refuses are left out and counted, alike in both stores.
#[test]
fn an_insert_leaves_out_what_its_check_refuses() {
    let (_dir, duck, memory) = stores();
    let events = stored_events(500, 7);
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let batch = EventBatch::read(&slices).expect("readable events");
    let erased = batch.events()[0].indexed.recipients.clone();
    assert!(!erased.is_empty(), "the first event has a recipient");
    let may_store = |event: &eventhose_analytics::IndexedEvent| {
        !event.recipients.iter().any(|r| erased.contains(r))
    };
    let a = duck
        .insert_checked(&batch, Some(1), &may_store)
        .expect("duck insert");
    let b = memory
        .insert_checked(&batch, Some(1), &may_store)
        .expect("memory insert");
    assert_eq!(a, b);
    assert!(a.erased >= 1, "{a:?}");
    assert_eq!(a.inserted + a.erased + a.duplicates, 500);
    let q = query(EventFilters::default(), 10_000);
    assert_eq!(duck.search(&q).expect("search").total_count, a.inserted);
}

/// An event is its account and `event_id`: the same id and second in another account is
/// another event (one tenant cannot hide another's events by sending their ids first), found
/// as such in the window, in the day tables and after reopening.
#[test]
fn one_event_id_in_two_accounts_is_two_events() {
    let in_account = |events: &[Vec<u8>], subaccount: &str| -> Vec<Vec<u8>> {
        events
            .iter()
            .map(|stored| {
                let mut event: serde_json::Value = serde_json::from_slice(stored).expect("JSON");
                event["subaccount_id"] = subaccount.into();
                serde_json::to_vec(&event).expect("JSON")
            })
            .collect()
    };
    let events = stored_events(300, 6);
    let (first, second) = (in_account(&events, "3"), in_account(&events, "7"));
    for window in [
        std::time::Duration::from_secs(3_600),
        std::time::Duration::ZERO,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.duckdb");
        let options = DuckOptions {
            event_id_window: window,
            ..DuckOptions::default()
        };
        let memory = MemoryEventStore::new();
        {
            let duck = DuckStore::open(&path, &options).expect("open");
            insert_both(&duck, &memory, &first, 1);
            insert_both(&duck, &memory, &second, 2);
        }
        let duck = DuckStore::open(&path, &options).expect("reopen");
        insert_both(&duck, &memory, &second, 3);
        insert_both(&duck, &memory, &first, 4);
        let q = query(EventFilters::default(), 10_000);
        assert_eq!(
            duck.search(&q).expect("search").total_count,
            600,
            "window {window:?}"
        );
    }
}

/// A type filter left out because a day held only wanted types must come back when an
/// unwanted type arrives in that day, in the same store and after reopening it.
#[test]
fn a_type_arriving_after_a_search_is_still_filtered_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.duckdb");
    let memory = MemoryEventStore::new();
    let event = |event_type: &str, id: u32| {
        format!(
            r#"{{"type":"{event_type}","timestamp":"{}","event_id":"{id}","rcpt_to":"r{id}@example.com"}}"#,
            START + i64::from(id)
        )
        .into_bytes()
    };
    let not_bounces = EventFilters {
        event_types: EventType::ALL
            .into_iter()
            .filter(|t| *t != EventType::Bounce)
            .collect(),
        ..Default::default()
    };
    let q = query(not_bounces, 100);
    {
        let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open");
        insert_both(&duck, &memory, &[event("delivery", 1), event("open", 2)], 1);
        assert_eq!(duck.search(&q).expect("search").total_count, 2);
        insert_both(
            &duck,
            &memory,
            &[event("bounce", 3), event("delivery", 4)],
            2,
        );
        let (a, b) = (
            duck.search(&q).expect("search"),
            memory.search(&q).expect("search"),
        );
        assert_eq!(a.total_count, 3, "the bounce is not counted");
        assert_eq!(a.events, b.events);
    }
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    assert_eq!(duck.search(&q).expect("search").total_count, 3);
    insert_both(&duck, &memory, &[event("bounce", 5)], 3);
    let (a, b) = (
        duck.search(&q).expect("search"),
        memory.search(&q).expect("search"),
    );
    assert_eq!(a.total_count, 3);
    assert_eq!(a.events, b.events);
}

/// What a crash leaves in the body files past the last commit is cut off at open, and a body
/// file of no table is removed: the store reads and writes on as if they had never been.
#[test]
fn body_bytes_past_the_last_commit_are_cut_at_reopen() {
    use std::io::Write;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.duckdb");
    let events = stored_events(4_000, 11);
    let memory = MemoryEventStore::new();
    {
        let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open");
        insert_both(&duck, &memory, &events[..3_000], 1);
    }
    let bodies = dir.path().join("a.bodies");
    let mut files = 0;
    for entry in std::fs::read_dir(&bodies).expect("body files") {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(entry.expect("entry").path())
            .expect("open a body file");
        file.write_all(b"EHB1 a torn block").expect("append");
        files += 1;
    }
    assert!(files >= 2, "the events span two days");
    let orphan = bodies.join("events_20261101");
    std::fs::write(&orphan, b"left by a crash").expect("orphan");

    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    assert!(!orphan.exists());
    insert_both(&duck, &memory, &events[3_000..], 2);
    let pages = |store: &dyn EventReader| -> Vec<String> {
        all_pages(store, query(EventFilters::default(), 700))
            .into_iter()
            .flat_map(|page| page.events)
            .collect()
    };
    let (a, b) = (pages(&duck), pages(&memory));
    assert_eq!(a.len(), 4_000);
    assert_eq!(a, b);
}

#[test]
fn a_page_ends_at_the_byte_budget_and_paging_goes_on_without_gaps() {
    let (_dir, duck, memory) = stores();
    let events = stored_events(1_200, 41);
    insert_both(&duck, &memory, &events, 1);
    let whole = all_pages(&memory, query(EventFilters::default(), 10_000));
    let expected: Vec<String> = whole.into_iter().flat_map(|p| p.events).collect();
    assert_eq!(expected.len(), events.len());
    // A budget of a few events' worth, across the 256-row chunks a page reads at a time.
    let average = events.iter().map(Vec::len).sum::<usize>() / events.len();
    for max_bytes in [0, average * 3, average * 300] {
        let mut budgeted = query(EventFilters::default(), 1_000);
        budgeted.max_bytes = max_bytes;
        let duck_pages = all_pages(&duck, budgeted.clone());
        let memory_pages = all_pages(&memory, budgeted);
        assert_eq!(duck_pages, memory_pages, "max_bytes {max_bytes}");
        for page in &duck_pages {
            let without_last: usize = page.events.iter().rev().skip(1).map(String::len).sum();
            assert!(without_last <= max_bytes, "a page went past its budget");
            assert!(!page.events.is_empty());
        }
        let paged: Vec<String> = duck_pages.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(paged, expected, "max_bytes {max_bytes}");
    }
}

#[test]
fn a_lost_body_file_fails_the_search_naming_the_day_and_keeping_the_io_error() {
    use std::error::Error as _;

    let (dir, duck, memory) = stores();
    insert_both(&duck, &memory, &stored_events(50, 11), 1);
    std::fs::remove_dir_all(dir.path().join("a.bodies")).expect("remove the body files");

    let error = match duck.search(&query(EventFilters::default(), 10)) {
        Ok(page) => panic!("searched without the body files: {page:?}"),
        Err(error) => error,
    };
    match &error {
        AnalyticsError::Engine {
            context: Some(context),
            ..
        } => assert!(context.starts_with("stored events of events_"), "{context}"),
        other => panic!("expected an engine error with context, got {other:?}"),
    }
    let io = error
        .source()
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("the io::Error is the source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(
        error
            .to_string()
            .starts_with("analytic store: stored events of events_"),
        "{error}"
    );
}
