//! The events a subscriber has applied recently, so an event that arrives again is ignored.
//!
//! Each stateful subscriber keeps one [`AppliedIds`]: the [`event_identity`] of every event it
//! applied within the window, with the minute it applied it. What it adds is taken at each
//! commit and stored in the same transaction as the subscriber's results, and the stored set
//! is handed back at start, so the set and the results never disagree after a crash.
//!
//! The window is measured by when an event was applied, not by its timestamp: an agent
//! re-reading yesterday's log, or a client retrying, is recognised for as long as the window
//! lasts, however old the events are. Memory: 35–50 bytes per event of the window (a hash-set
//! slot and its place in the expiry queue), 35–50 MB per million events a day with the default
//! window of a day.
//!
//! [`event_identity`]: crate::event_identity

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

/// One applied event: the minute (unix minutes) it was applied and its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppliedId {
    /// Unix minutes at which the event was applied.
    pub minute: i64,
    /// The event's [`event_identity`](crate::event_identity).
    pub identity: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct AppliedIds {
    /// How many minutes an identity is remembered; 0 turns deduplication off.
    window_minutes: i64,
    held: FxHashSet<u64>,
    /// The held identities in the order they were applied, for expiry.
    order: VecDeque<AppliedId>,
    /// Applied since the last [`take_added`](Self::take_added).
    added: Vec<AppliedId>,
}

impl AppliedIds {
    /// An empty set remembering identities for `window_minutes` (0: remember nothing, so
    /// every event is new).
    pub fn new(window_minutes: i64) -> AppliedIds {
        AppliedIds {
            window_minutes: window_minutes.max(0),
            ..AppliedIds::default()
        }
    }

    /// The set restored from what a store kept, forgetting what fell out of the window by
    /// `now_minute`.
    pub fn restored(
        window_minutes: i64,
        stored: impl IntoIterator<Item = AppliedId>,
        now_minute: i64,
    ) -> AppliedIds {
        let mut applied = AppliedIds::new(window_minutes);
        if applied.is_off() {
            return applied;
        }
        let mut stored: Vec<AppliedId> = stored.into_iter().collect();
        stored.sort_by_key(|id| id.minute);
        for id in stored {
            if applied.held.insert(id.identity) {
                applied.order.push_back(id);
            }
        }
        applied.expire(now_minute);
        applied
    }

    /// Whether deduplication is off (a window of 0).
    pub fn is_off(&self) -> bool {
        self.window_minutes == 0
    }

    /// Records `identity` as applied at `now_minute`; false when it was applied within the
    /// window already (the event is a repeat and must be ignored). Always true when off.
    pub fn insert(&mut self, identity: u64, now_minute: i64) -> bool {
        if self.is_off() {
            return true;
        }
        if !self.held.insert(identity) {
            return false;
        }
        let id = AppliedId {
            minute: now_minute,
            identity,
        };
        self.order.push_back(id);
        self.added.push(id);
        true
    }

    /// Takes what was applied since the last call, for the store to keep with the results.
    pub fn take_added(&mut self) -> Vec<AppliedId> {
        std::mem::take(&mut self.added)
    }

    /// Forgets the identities applied before the window that ends at `now_minute`.
    pub fn expire(&mut self, now_minute: i64) {
        let floor = self.floor(now_minute);
        while let Some(oldest) = self.order.front() {
            if oldest.minute >= floor {
                break;
            }
            self.held.remove(&oldest.identity);
            self.order.pop_front();
        }
    }

    /// The first minute still inside the window that ends at `now_minute`: a store may drop
    /// what was applied before it.
    pub fn floor(&self, now_minute: i64) -> i64 {
        now_minute.saturating_sub(self.window_minutes)
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

    #[test]
    fn a_repeat_inside_the_window_is_refused() {
        let mut applied = AppliedIds::new(60);
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
        let mut applied = AppliedIds::new(60);
        applied.insert(1, 1_000);
        applied.insert(2, 1_050);
        applied.expire(1_060);
        assert_eq!(applied.len(), 2, "minute 1000 is the window's first");
        applied.expire(1_061);
        assert_eq!(applied.len(), 1);
        assert!(applied.insert(1, 1_061), "forgotten: applied again");
        assert!(!applied.insert(2, 1_061));
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
        let mut applied = AppliedIds::restored(60, stored, 1_000);
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
    fn off_means_every_event_is_new_and_nothing_is_kept() {
        let mut applied = AppliedIds::new(0);
        assert!(applied.insert(1, 1) && applied.insert(1, 1));
        assert!(applied.is_empty() && applied.take_added().is_empty());
    }
}
