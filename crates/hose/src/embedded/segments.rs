//! The in-memory list of segment files, shared by the writer, readers and retention.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::sync_util::lock;

/// Start offsets of the live segments. Records never span segments, so the record at offset `p` lives in
/// the segment with the greatest start `<= p`.
#[derive(Debug, Default)]
pub(crate) struct SegmentIndex {
    starts: Mutex<BTreeSet<u64>>,
}

impl SegmentIndex {
    pub(crate) fn new(starts: impl IntoIterator<Item = u64>) -> Self {
        Self {
            starts: Mutex::new(starts.into_iter().collect()),
        }
    }

    /// Start of the segment holding offset `position`.
    pub(crate) fn containing(&self, position: u64) -> Option<u64> {
        lock(&self.starts).range(..=position).next_back().copied()
    }

    /// Adds a newly created segment.
    pub(crate) fn insert(&self, start: u64) {
        lock(&self.starts).insert(start);
    }

    /// Number of live segments.
    pub(crate) fn len(&self) -> usize {
        lock(&self.starts).len()
    }

    /// Start of the oldest live segment.
    pub(crate) fn first(&self) -> Option<u64> {
        lock(&self.starts).first().copied()
    }

    /// Removes and returns the segments that start after `start` (those a failed write
    /// created).
    pub(crate) fn take_after(&self, start: u64) -> Vec<u64> {
        let mut starts = lock(&self.starts);
        let after = starts.split_off(&(start + 1));
        after.into_iter().collect()
    }

    /// Removes and returns the segments that end at or before `position`, never the last (active) one.
    pub(crate) fn take_fully_below(&self, position: u64) -> Vec<u64> {
        let mut starts = lock(&self.starts);
        let sorted: Vec<u64> = starts.iter().copied().collect();
        let removable: Vec<u64> = sorted
            .windows(2)
            .take_while(|pair| pair[1] <= position)
            .map(|pair| pair[0])
            .collect();
        for start in &removable {
            starts.remove(start);
        }
        removable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_segment_holding_an_offset() {
        let index = SegmentIndex::new([0, 100, 250]);
        assert_eq!(index.containing(0), Some(0));
        assert_eq!(index.containing(99), Some(0));
        assert_eq!(index.containing(100), Some(100));
        assert_eq!(index.containing(10_000), Some(250));
    }

    #[test]
    fn a_failed_write_takes_back_the_segments_it_created() {
        let index = SegmentIndex::new([0, 100, 250, 400]);
        assert_eq!(index.take_after(100), vec![250, 400]);
        assert_eq!(index.containing(10_000), Some(100));
        assert!(index.take_after(100).is_empty());
    }

    #[test]
    fn retention_takes_only_fully_covered_sealed_segments() {
        let index = SegmentIndex::new([0, 100, 250]);
        assert!(index.take_fully_below(99).is_empty());
        assert_eq!(index.take_fully_below(249), vec![0]);
        assert_eq!(index.first(), Some(100));
        assert_eq!(index.take_fully_below(u64::MAX), vec![100]);
        assert_eq!(index.len(), 1, "the active segment is never taken");
    }
}
