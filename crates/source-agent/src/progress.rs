//! From line numbers to file positions: which position may be saved now.
//!
//! The source numbers the lines it is fed from 0 ([`PostfixSource::lines_read`], and
//! PowerMTA's alike); events are tagged with the oldest line they depend on (see
//! [`crate::position`]). This keeps the start position of each line from the oldest one
//! still needed on, and the end of the last line consumed (which also moves past skipped,
//! oversized lines), and turns "the oldest line still needed" into the position to save, and
//! the number of the line it starts (whose header PowerMTA saves with it). Memory: one
//! [`FilePos`] per line in the window, at most the correlator's entry timeout of log plus
//! the unacknowledged events.
//!
//! [`PostfixSource::lines_read`]: eventhose_sources::postfix::PostfixSource::lines_read

use std::collections::VecDeque;

use crate::position::FilePos;

/// Line starts from the oldest line still needed.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The number of the line `starts[0]` starts.
    base: u64,
    starts: VecDeque<Option<FilePos>>,
    /// Where the line after the last one consumed starts.
    frontier: Option<FilePos>,
}

impl Progress {
    /// Starting at `start` (a saved position), before line 0.
    pub(crate) fn new(start: Option<FilePos>) -> Progress {
        Progress {
            base: 0,
            starts: VecDeque::new(),
            frontier: start,
        }
    }

    /// Line `number` (the next one) starts at `start` and ends at `end`.
    pub(crate) fn line(&mut self, number: u64, start: Option<FilePos>, end: Option<FilePos>) {
        debug_assert_eq!(number, self.base + self.starts.len() as u64);
        self.starts.push_back(start);
        self.consumed(end);
    }

    /// Input up to `end` was consumed without a line for the source (an oversized line).
    pub(crate) fn consumed(&mut self, end: Option<FilePos>) {
        if end.is_some() {
            self.frontier = end;
        }
    }

    /// The position to keep when line `oldest_needed` is the oldest line still needed
    /// (`None`: no line is). Lines before it are forgotten.
    pub(crate) fn position(&mut self, oldest_needed: Option<u64>) -> Option<FilePos> {
        let Some(needed) = oldest_needed else {
            self.base += self.starts.len() as u64;
            self.starts.clear();
            return self.frontier;
        };
        while self.base < needed && !self.starts.is_empty() {
            self.starts.pop_front();
            self.base += 1;
        }
        // A line older than the oldest known (an entry re-held a line already let go) keeps
        // the oldest known one: positions never move back past what was saved.
        match self.starts.front() {
            Some(start) => *start,
            None => self.frontier,
        }
    }

    /// The number of the line at the last position returned by
    /// [`position`](Self::position): the oldest line kept, or, at the frontier, the next
    /// line to come (oversized lines get no number). What the source read before it is the
    /// state a restart from that position lacks.
    pub(crate) fn position_line(&self) -> u64 {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::FileId;

    fn at(offset: u64) -> Option<FilePos> {
        Some(FilePos {
            file: FileId {
                dev: 1,
                ino: 1,
                head: None,
            },
            offset,
        })
    }

    #[test]
    fn the_oldest_needed_line_or_the_frontier() {
        let mut progress = Progress::new(at(0));
        progress.line(0, at(0), at(10));
        progress.line(1, at(10), at(20));
        progress.consumed(at(50));
        progress.line(2, at(50), at(60));
        assert_eq!(progress.position(Some(1)), at(10));
        assert_eq!(progress.position_line(), 1);
        assert_eq!(progress.position(Some(1)), at(10), "still there");
        assert_eq!(progress.position(Some(2)), at(50));
        assert_eq!(progress.position_line(), 2);
        assert_eq!(progress.position(None), at(60));
        assert_eq!(progress.position_line(), 3, "the frontier: the next line");
        progress.line(3, at(60), at(70));
        assert_eq!(progress.position(Some(3)), at(60));
        assert_eq!(progress.position_line(), 3);
        assert_eq!(
            progress.position(Some(1)),
            at(60),
            "never back past what was let go"
        );
    }
}
