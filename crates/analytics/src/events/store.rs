//! Message events: what the Events API asks the event store, what it gets back, and the traits
//! a store implements (the message-events subscriber writes, the API searches and erases).
//!
//! The traits are shaped by the queries, not by an engine. Their documentation is the contract
//! every store meets exactly; [`crate::MemoryEventStore`] is the reference implementation other
//! stores are differential-tested against. Methods block; async callers run them on a blocking
//! thread.
//!
//! # Semantics every store shares
//! - **Identity.** An event is stored once per `event_id` and `timestamp` (a redelivered event
//!   carries both unchanged). Inserting an event whose `event_id` is stored already with the
//!   same timestamp stores nothing and counts it as a duplicate (whatever its other content).
//!   Keying on the timestamp too lets a store look for the duplicate only among the events of
//!   that second instead of the whole window.
//!   Events that retention or erasure removed are forgotten: inserted again, they are stored
//!   again (writers skip redeliveries by the checkpoint position).
//! - **Sequence.** Every newly stored event gets the next insertion sequence number (1, 2, …,
//!   never reused, also not after deletions). A search without a cursor sees the events stored
//!   up to the highest number assigned when it runs: its *snapshot*. Its cursor carries the
//!   snapshot, and every later page sees only events numbered at or below it. So paging never
//!   skips or repeats an event and `total_count` stays the same while new events arrive;
//!   only deletions (retention, erasure) between pages can lower it. Within one insert,
//!   events of one timestamp are numbered in batch order.
//! - **Order.** Newest first: `timestamp` descending, then sequence number descending (of one
//!   second, the last stored first). Sequence numbers are unique, so the order is total.
//! - **Filters.** As [`crate::EventFilters`] and [`crate::IndexedEvent::matches`] define them,
//!   over the values [`crate::IndexedEvent::from_stored`] extracts.
//! - **Time.** `from <= timestamp < to`, in unix seconds.
//! - **Retention.** By UTC day of `timestamp`: a day is dropped whole once it ends at or before
//!   `keep_from`. Partitions are named `events/YYYY-MM-DD`.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use eventhose_model::EventType;

use crate::{AnalyticsError, EventFilters, IndexedEvent, RetentionReport};

/// The event types the Events API searches (SparkPost's list: no relay, A/B test or ingest
/// events), in documentation order: every type before the relay ones.
pub const SEARCHABLE_EVENT_TYPES: &[EventType] =
    EventType::ALL.split_at(EventType::RelayInjection.index()).0;

/// Where a page ends: the last event returned and the snapshot of the search.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventCursor {
    /// `timestamp` of the last event returned.
    pub timestamp: i64,
    /// Insertion sequence number of the last event returned.
    pub seq: u64,
    /// The highest insertion sequence number the search sees.
    pub snapshot: u64,
}

/// One page of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Inclusive start, unix seconds.
    pub from: i64,
    /// Exclusive end, unix seconds.
    pub to: i64,
    /// Which events.
    pub filters: EventFilters,
    /// At most this many events (at least 1).
    pub per_page: usize,
    /// The page ends early, with a cursor to go on, at the first event that brings its stored
    /// forms past this many bytes (that event is the page's last; a page holds at least one
    /// event), so the memory a page costs is bounded whatever `per_page` and the events' sizes.
    pub max_bytes: usize,
    /// `None` for the first page; the previous page's [`EventPage::next`] for the following.
    pub cursor: Option<EventCursor>,
}

/// A page of results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    /// The events, in the search order, each exactly as it was inserted.
    pub events: Vec<String>,
    /// How many events in the snapshot match the time range and filters (on every page, not
    /// only from the cursor on).
    pub total_count: u64,
    /// Where the next page starts; `None` when no matching event follows this page.
    pub next: Option<EventCursor>,
}

/// What an insert did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertReport {
    /// Events newly stored.
    pub inserted: u64,
    /// Events whose `event_id` was stored already (or came earlier in the same insert).
    pub duplicates: u64,
    /// Events left out because the insert's check said their recipient is erased.
    pub erased: u64,
}

/// Whether an event may be stored, asked by [`EventWriter::insert_checked`] under the store's
/// write lock.
pub type MayStore<'a> = &'a (dyn Fn(&IndexedEvent) -> bool + Sync);

/// What an erasure removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErasureReport {
    /// Events removed, per type (types with none are absent).
    pub erased: BTreeMap<EventType, u64>,
}

impl ErasureReport {
    /// Events removed in all.
    pub fn total(&self) -> u64 {
        self.erased.values().sum()
    }
}

/// An event read for storing: its stored form and what searches look at in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// What searches, retention and erasure look at.
    pub indexed: IndexedEvent,
    /// The stored form, exactly as given (UTF-8, checked when read; shared with the buffer it
    /// was read from, not copied).
    pub json: Bytes,
}

/// Events read for storing, in order. Reading (the costly part of an insert) happens while a
/// batch is built, so a writer can build the next batch while a store commits the last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventBatch {
    events: Vec<StoredEvent>,
}

impl EventBatch {
    /// An empty batch with room for `events` events (a writer that knows its usual batch size
    /// saves the copies of a growing one).
    pub fn with_capacity(events: usize) -> EventBatch {
        EventBatch {
            events: Vec::with_capacity(events),
        }
    }

    /// Reads every event of `stored`; fails naming the first unreadable one by its index.
    pub fn read(stored: &[&[u8]]) -> Result<EventBatch, AnalyticsError> {
        let mut batch = EventBatch::default();
        for (i, bytes) in stored.iter().enumerate() {
            batch
                .push(bytes)
                .map_err(|e| AnalyticsError::Invalid(format!("event {i}: {e}")))?;
        }
        Ok(batch)
    }

    /// Reads one stored event (the storage form of `eventhose_model::Event`) and adds a copy.
    pub fn push(&mut self, stored: &[u8]) -> Result<(), AnalyticsError> {
        self.push_shared(Bytes::copy_from_slice(stored))
    }

    /// Reads one stored event and adds it without copying it.
    pub fn push_shared(&mut self, stored: Bytes) -> Result<(), AnalyticsError> {
        self.push_shared_if(stored, |_| true).map(|_| ())
    }

    /// Like [`push_shared`](Self::push_shared), but adds the event only when `keep` says so
    /// of what was read of it (a writer leaves out events retention or an erasure would
    /// remove); returns whether it was added.
    pub fn push_shared_if(
        &mut self,
        stored: Bytes,
        keep: impl FnOnce(&IndexedEvent) -> bool,
    ) -> Result<bool, AnalyticsError> {
        let text = std::str::from_utf8(&stored)
            .map_err(|_| AnalyticsError::Invalid("stored event: not UTF-8".into()))?;
        let indexed = IndexedEvent::from_stored_text(text)?;
        if !keep(&indexed) {
            return Ok(false);
        }
        self.events.push(StoredEvent {
            indexed,
            json: stored,
        });
        Ok(true)
    }

    /// The events, in order.
    pub fn events(&self) -> &[StoredEvent] {
        &self.events
    }

    /// Keeps only the events `keep` says so of.
    pub fn retain(&mut self, mut keep: impl FnMut(&StoredEvent) -> bool) {
        self.events.retain(|event| keep(event));
    }

    /// Removes every event, keeping the room they took: a writer that reuses its batches
    /// touches no fresh memory for the next one.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Searching events.
pub trait EventReader: Send + Sync {
    /// One page of the events matching `query`, newest first (see the module docs for the
    /// snapshot, order and filters). With a cursor, the page starts after the cursor's
    /// `(timestamp, seq)` and sees only the cursor's snapshot. An [`AnalyticsError::Invalid`]
    /// when `per_page` is 0.
    fn search(&self, query: &EventQuery) -> Result<EventPage, AnalyticsError>;
}

/// Storing and removing events.
pub trait EventWriter: Send + Sync {
    /// Stores each event of `batch` whole, once per `event_id` (and timestamp), and records
    /// `position` (the highest recorded so far is kept; `None` keeps the last one), all in one
    /// commit: all or nothing.
    fn insert(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
    ) -> Result<InsertReport, AnalyticsError> {
        self.insert_checked(batch, position, &|_| true)
    }

    /// Like [`insert`](Self::insert), leaving out the events `may_store` refuses. The check
    /// runs under the lock [`erase_recipient`](Self::erase_recipient) takes, so an erasure
    /// recorded before it starts is never undone by an insert that was already on its way.
    fn insert_checked(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
        may_store: MayStore<'_>,
    ) -> Result<InsertReport, AnalyticsError>;

    /// The hose position of the last commit that recorded one.
    fn checkpoint(&self) -> Result<Option<u64>, AnalyticsError>;

    /// Drops every UTC day of events (by `timestamp`) that ends at or before `keep_from`,
    /// naming each dropped day that held events.
    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError>;

    /// Deletes every event naming `recipient` as its recipient ([`crate::IndexedEvent::
    /// names_recipient`]: `rcpt_to` or `raw_rcpt_to`, case-insensitively), whatever its
    /// account, and reports how many of each type.
    fn erase_recipient(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError>;
}

/// A store that searches and writes: what the API holds (it searches and erases).
pub trait EventStore: EventReader + EventWriter {}

impl<T: EventReader + EventWriter + ?Sized> EventStore for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_searchable_types_are_sparkposts_list() {
        let names: Vec<&str> = SEARCHABLE_EVENT_TYPES.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "injection",
                "delivery",
                "bounce",
                "delay",
                "policy_rejection",
                "out_of_band",
                "spam_complaint",
                "sms_status",
                "open",
                "initial_open",
                "click",
                "amp_open",
                "amp_initial_open",
                "amp_click",
                "generation_failure",
                "generation_rejection",
                "list_unsubscribe",
                "link_unsubscribe",
            ]
        );
    }
}
