//! Which input lines the correlator's state still depends on, so that a reader can tell how
//! far back it must re-read to rebuild that state after a restart.
//!
//! Lines are numbered from 0 in the order they are fed to a source. Each open queue entry
//! holds an *anchor* at the line that opened it (and, when it continues a message handed on
//! through a content filter, another at the line that opened the original message); a hop
//! waiting for its new queue id holds one at the line that opened the message it carries.
//! [`Anchors::oldest`] is the smallest line held: re-reading from there gives the correlator
//! back every entry it has now, with the same ids.
//!
//! The replay is bounded: an anchor older (by the log's clock) than the entry timeout is let
//! go even if its entry is still open (a message deferred for days), so the oldest line held
//! is never more than the entry timeout behind the log's clock. Both lookups are `BTreeMap`s:
//! holding, releasing and expiring cost `O(log n)`, [`Anchors::oldest`] `O(log n)`.

use std::collections::BTreeMap;

/// One held line: its number, its time (µs) and a unique id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    line: u64,
    micros: i64,
    id: u64,
}

impl Anchor {
    /// The line held.
    pub(crate) fn line(self) -> u64 {
        self.line
    }

    /// The time of the line held, in µs since the epoch.
    pub(crate) fn micros(self) -> i64 {
        self.micros
    }
}

/// The lines held, by line and by time.
#[derive(Debug, Default)]
pub(crate) struct Anchors {
    by_line: BTreeMap<(u64, u64), i64>,
    by_time: BTreeMap<(i64, u64), u64>,
    next_id: u64,
}

impl Anchors {
    /// Holds `line`, written at `micros`.
    pub(crate) fn hold(&mut self, line: u64, micros: i64) -> Anchor {
        self.next_id += 1;
        let anchor = Anchor {
            line,
            micros,
            id: self.next_id,
        };
        self.by_line.insert((line, anchor.id), micros);
        self.by_time.insert((micros, anchor.id), line);
        anchor
    }

    /// Lets go of `anchor` (nothing if it expired already).
    pub(crate) fn release(&mut self, anchor: Anchor) {
        self.by_line.remove(&(anchor.line, anchor.id));
        self.by_time.remove(&(anchor.micros, anchor.id));
    }

    /// Lets go of every anchor of a line written before `micros`.
    pub(crate) fn expire_before(&mut self, micros: i64) {
        while let Some(entry) = self.by_time.first_entry() {
            if entry.key().0 >= micros {
                break;
            }
            let id = entry.key().1;
            let line = entry.remove();
            self.by_line.remove(&(line, id));
        }
    }

    /// The smallest line held.
    pub(crate) fn oldest(&self) -> Option<u64> {
        self.by_line.first_key_value().map(|(&(line, _), _)| line)
    }

    /// Lets go of everything.
    pub(crate) fn clear(&mut self) {
        self.by_line.clear();
        self.by_time.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_line_held_wins_until_released_or_expired() {
        let mut anchors = Anchors::default();
        assert_eq!(anchors.oldest(), None);
        let a = anchors.hold(5, 100);
        let b = anchors.hold(3, 200);
        let c = anchors.hold(3, 300);
        assert_eq!(anchors.oldest(), Some(3));
        anchors.release(b);
        assert_eq!(anchors.oldest(), Some(3));
        anchors.release(c);
        assert_eq!(anchors.oldest(), Some(5));
        anchors.hold(9, 400);
        anchors.expire_before(101);
        assert_eq!(anchors.oldest(), Some(9));
        // Releasing an expired anchor changes nothing.
        anchors.release(a);
        assert_eq!(anchors.oldest(), Some(9));
        anchors.clear();
        assert_eq!(anchors.oldest(), None);
    }
}
