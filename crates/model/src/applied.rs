//! The events a subscriber has applied recently, so an event that arrives again is ignored.
//!
//! Each stateful subscriber keeps one [`AppliedIds`]: the [`event_identity`] of every event it
//! applied within the window, with the minute it applied it. What it adds is taken at each
//! commit and stored in the same transaction as the subscriber's results, and the stored set
//! is handed back at start, so the set and the results never disagree after a crash.
//!
//! The window is measured by when an event was applied, not by its timestamp: an agent
//! re-reading yesterday's log, or a client retrying, is recognised for as long as the window
//! lasts, however old the events are.
//!
//! The window is also bounded in size ([`DedupWindow::max_events`]), because its memory grows
//! with the event rate: a day at 1,000 events/s is 86 million identities. Past the bound the
//! oldest identities are forgotten before their time and counted
//! ([`take_forgotten_early`](AppliedIds::take_forgotten_early)), so the window then spans the
//! last `max_events` events instead of the configured time. Memory: 18–37 bytes per identity
//! held (a 9-byte hash-set slot and 8 bytes in the expiry queue, in tables that grow by
//! doubling), 27 MB at a bound of a million.
//!
//! [`event_identity`]: crate::event_identity

use std::collections::VecDeque;
use std::time::Duration;

use rustc_hash::FxHashSet;

/// How long, and how many, applied events a subscriber remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupWindow {
    /// How many minutes an identity is remembered; 0 turns deduplication off.
    pub minutes: i64,
    /// The most identities remembered at once; past it the oldest are forgotten early.
    pub max_events: usize,
}

impl DedupWindow {
    /// No deduplication: every event is new.
    pub const OFF: DedupWindow = DedupWindow {
        minutes: 0,
        max_events: 0,
    };

    /// A window of `span` (whole minutes count) holding at most `max_events` identities.
    pub fn new(span: Duration, max_events: usize) -> DedupWindow {
        DedupWindow {
            minutes: i64::try_from(span.as_secs() / 60).unwrap_or(i64::MAX),
            max_events,
        }
    }

    /// The window's length.
    pub fn span(&self) -> Duration {
        Duration::from_secs(
            u64::try_from(self.minutes.max(0))
                .unwrap_or(0)
                .saturating_mul(60),
        )
    }

    /// Whether deduplication is off (no time, or no room).
    pub fn is_off(&self) -> bool {
        self.minutes <= 0 || self.max_events == 0
    }
}

/// One applied event: the minute (unix minutes) it was applied and its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppliedId {
    /// Unix minutes at which the event was applied.
    pub minute: i64,
    /// The event's [`event_identity`](crate::event_identity).
    pub identity: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct AppliedIds {
    window: DedupWindow,
    held: FxHashSet<u64>,
    /// The held identities in the order they were applied, for expiry.
    order: VecDeque<u64>,
    /// `order` in runs of one minute each: the minute and how many identities it holds.
    minutes: VecDeque<(i64, usize)>,
    /// Applied since the last [`take_added`](Self::take_added).
    added: Vec<AppliedId>,
    /// Forgotten for want of room since the last
    /// [`take_forgotten_early`](Self::take_forgotten_early).
    forgotten_early: u64,
}

impl Default for AppliedIds {
    fn default() -> Self {
        AppliedIds::new(DedupWindow::OFF)
    }
}

impl AppliedIds {
    /// An empty set remembering identities as `window` says (off: remember nothing, so every
    /// event is new).
    pub fn new(window: DedupWindow) -> AppliedIds {
        AppliedIds {
            window,
            held: FxHashSet::default(),
            order: VecDeque::new(),
            minutes: VecDeque::new(),
            added: Vec::new(),
            forgotten_early: 0,
        }
    }

    /// The set restored from what a store kept, forgetting what fell out of the window by
    /// `now_minute`, and, past the window's bound, the oldest (those are not counted as
    /// forgotten early: the set that held them did).
    pub fn restored(
        window: DedupWindow,
        stored: impl IntoIterator<Item = AppliedId>,
        now_minute: i64,
    ) -> AppliedIds {
        let mut applied = AppliedIds::new(window);
        if applied.is_off() {
            return applied;
        }
        let mut stored: Vec<AppliedId> = stored.into_iter().collect();
        stored.sort_by_key(|id| id.minute);
        let newest = stored.len().saturating_sub(window.max_events);
        for id in &stored[newest..] {
            if applied.held.insert(id.identity) {
                applied.push(*id);
            }
        }
        applied.expire(now_minute);
        applied
    }

    /// Whether deduplication is off.
    pub fn is_off(&self) -> bool {
        self.window.is_off()
    }

    /// Records `identity` as applied at `now_minute`; false when it was applied within the
    /// window already (the event is a repeat and must be ignored). Always true when off.
    pub fn insert(&mut self, identity: u64, now_minute: i64) -> bool {
        if self.is_off() {
            return true;
        }
        if self.held.contains(&identity) {
            return false;
        }
        if self.held.len() >= self.window.max_events && self.forget_oldest() {
            self.forgotten_early += 1;
        }
        self.held.insert(identity);
        let id = AppliedId {
            minute: now_minute,
            identity,
        };
        self.push(id);
        self.added.push(id);
        true
    }

    /// Appends a held identity to the expiry queue.
    fn push(&mut self, id: AppliedId) {
        self.order.push_back(id.identity);
        match self.minutes.back_mut() {
            Some((minute, count)) if *minute == id.minute => *count += 1,
            _ => self.minutes.push_back((id.minute, 1)),
        }
    }

    /// Forgets the oldest held identity; false when none is held.
    fn forget_oldest(&mut self) -> bool {
        let Some(identity) = self.order.pop_front() else {
            return false;
        };
        self.held.remove(&identity);
        if let Some((_, count)) = self.minutes.front_mut() {
            *count -= 1;
            if *count == 0 {
                self.minutes.pop_front();
            }
        }
        true
    }

    /// Takes what was applied since the last call, for the store to keep with the results.
    pub fn take_added(&mut self) -> Vec<AppliedId> {
        std::mem::take(&mut self.added)
    }

    /// Takes how many identities were forgotten before their time, for want of room, since
    /// the last call.
    pub fn take_forgotten_early(&mut self) -> u64 {
        std::mem::take(&mut self.forgotten_early)
    }

    /// Forgets the identities applied before the window that ends at `now_minute`.
    pub fn expire(&mut self, now_minute: i64) {
        let start = self.window_start(now_minute);
        while let Some(&(minute, count)) = self.minutes.front() {
            if minute >= start {
                break;
            }
            for identity in self.order.drain(..count) {
                self.held.remove(&identity);
            }
            self.minutes.pop_front();
        }
        self.shrink_when_sparse();
    }

    /// Gives memory back once the set holds less than a quarter of what its tables have
    /// room for (after a burst, or when the rate falls), so a quiet server does not keep a
    /// busy hour's tables.
    fn shrink_when_sparse(&mut self) {
        let len = self.held.len();
        if self.held.capacity() > 4096 && len < self.held.capacity() / 4 {
            self.held.shrink_to(len * 2);
            self.order.shrink_to(len * 2);
        }
    }

    /// The first minute a store must keep at `now_minute`: what was applied before it has
    /// left the window, or was forgotten for want of room (it would not be restored).
    pub fn floor(&self, now_minute: i64) -> i64 {
        let start = self.window_start(now_minute);
        self.oldest_minute()
            .map_or(start, |oldest| oldest.max(start))
    }

    /// The first minute of the window that ends at `now_minute`.
    fn window_start(&self, now_minute: i64) -> i64 {
        now_minute.saturating_sub(self.window.minutes)
    }

    /// The minute the oldest held identity was applied, if any is held: repeats of events
    /// applied since then are recognised.
    pub fn oldest_minute(&self) -> Option<i64> {
        self.minutes.front().map(|(minute, _)| *minute)
    }

    /// How many identities are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no identity is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// The current unix minute.
pub fn unix_minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hour's window with room for `max_events`.
    fn hour(max_events: usize) -> DedupWindow {
        DedupWindow {
            minutes: 60,
            max_events,
        }
    }

    #[test]
    fn a_repeat_inside_the_window_is_refused() {
        let mut applied = AppliedIds::new(hour(100));
        assert!(applied.insert(1, 1_000));
        assert!(!applied.insert(1, 1_030), "a repeat half an hour later");
        assert!(applied.insert(2, 1_030));
        assert_eq!(
            applied.take_added(),
            [
                AppliedId {
                    minute: 1_000,
                    identity: 1
                },
                AppliedId {
                    minute: 1_030,
                    identity: 2
                }
            ]
        );
        assert!(applied.take_added().is_empty());
    }

    #[test]
    fn identities_expire_with_the_window() {
        let mut applied = AppliedIds::new(hour(100));
        applied.insert(1, 1_000);
        applied.insert(3, 1_000);
        applied.insert(2, 1_050);
        applied.expire(1_060);
        assert_eq!(applied.len(), 3, "minute 1000 is the window's first");
        assert_eq!(applied.oldest_minute(), Some(1_000));
        applied.expire(1_061);
        assert_eq!(applied.len(), 1, "both of minute 1000 go");
        assert_eq!(applied.oldest_minute(), Some(1_050));
        assert!(applied.insert(1, 1_061), "forgotten: applied again");
        assert!(!applied.insert(2, 1_061));
        assert_eq!(applied.take_forgotten_early(), 0, "expired in time");
    }

    #[test]
    fn past_its_bound_the_set_forgets_the_oldest_early_and_counts_them() {
        let mut applied = AppliedIds::new(hour(3));
        for identity in 1..=3 {
            assert!(applied.insert(identity, 1_000 + i64::try_from(identity).unwrap()));
        }
        assert_eq!(applied.len(), 3, "at the bound, nothing is forgotten");
        assert_eq!(applied.take_forgotten_early(), 0);
        assert!(
            !applied.insert(3, 1_010),
            "a repeat at the bound takes no room"
        );
        assert!(applied.insert(4, 1_010));
        assert_eq!(applied.len(), 3);
        assert_eq!(applied.take_forgotten_early(), 1);
        assert_eq!(applied.oldest_minute(), Some(1_002));
        assert!(!applied.insert(2, 1_010), "the second oldest is still held");
        assert!(applied.insert(1, 1_010), "the oldest was forgotten");
        assert_eq!(applied.take_forgotten_early(), 1);
        assert_eq!(
            applied.floor(1_020),
            1_003,
            "a store may drop what the set forgot"
        );
        assert_eq!(applied.floor(1_070), 1_010, "and what left the window");
    }

    #[test]
    fn a_restored_set_refuses_what_was_stored_and_drops_the_expired() {
        let stored = [
            AppliedId {
                minute: 500,
                identity: 7,
            },
            AppliedId {
                minute: 990,
                identity: 8,
            },
        ];
        let mut applied = AppliedIds::restored(hour(100), stored, 1_000);
        assert_eq!(applied.len(), 1);
        assert!(!applied.insert(8, 1_000));
        assert!(applied.insert(7, 1_000));
        assert_eq!(
            applied.take_added().len(),
            1,
            "restored ids are not added again"
        );
    }

    #[test]
    fn a_restored_set_keeps_the_newest_that_fit() {
        let stored = (0..10).rev().map(|i| AppliedId {
            minute: 990 + i,
            identity: u64::try_from(i).unwrap(),
        });
        let mut applied = AppliedIds::restored(hour(4), stored, 1_000);
        assert_eq!(applied.len(), 4);
        assert_eq!(applied.oldest_minute(), Some(996));
        assert!(!applied.insert(6, 1_000) && !applied.insert(9, 1_000));
        assert_eq!(applied.take_forgotten_early(), 0);
        assert!(applied.insert(5, 1_000), "older than the newest four");
    }

    #[test]
    fn memory_is_given_back_when_the_set_empties() {
        let mut applied = AppliedIds::new(hour(1_000_000));
        for identity in 0..100_000 {
            applied.insert(identity, 1_000);
        }
        let busy = applied.held.capacity();
        applied.insert(u64::MAX, 1_030);
        applied.expire(1_061);
        assert_eq!(applied.len(), 1);
        assert!(applied.held.capacity() < busy / 100, "{busy} slots kept");
        assert!(applied.order.capacity() < 100_000);
    }

    #[test]
    fn off_means_every_event_is_new_and_nothing_is_kept() {
        for off in [
            DedupWindow::OFF,
            DedupWindow {
                minutes: 60,
                max_events: 0,
            },
            DedupWindow {
                minutes: 0,
                max_events: 10,
            },
        ] {
            let mut applied = AppliedIds::new(off);
            assert!(applied.insert(1, 1) && applied.insert(1, 1));
            assert!(applied.is_empty() && applied.take_added().is_empty());
        }
    }

    #[test]
    fn a_window_counts_whole_minutes() {
        let window = DedupWindow::new(Duration::from_secs(150), 5);
        assert_eq!(window.minutes, 2);
        assert_eq!(window.span(), Duration::from_secs(120));
    }
}
