//! Splitting a byte stream into whole lines, with a bound on their length.
//!
//! [`Splitter::feed`] takes bytes as they arrive and hands out each complete line (without
//! its `\n`) with the number of bytes it took from the stream, newline included, so that a
//! file reader can tell where the next line starts. A line without its newline yet is kept
//! until the newline arrives; a line longer than the bound is not kept at all: its bytes are
//! counted and skipped up to its newline, and it comes out as [`Piece::Oversized`]. Memory is
//! therefore bounded by the longest line allowed, whatever the input.

/// One piece of the stream: a whole line, or a line too long to keep.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A line, without its `\n`.
    Line {
        /// The line's bytes.
        text: &'a [u8],
        /// The bytes it took from the stream, newline included.
        len: u64,
    },
    /// A line longer than the bound, skipped.
    Oversized {
        /// The bytes it took from the stream, newline included.
        len: u64,
    },
}

/// Splits bytes into lines of at most `max_len` bytes.
#[derive(Debug)]
pub struct Splitter {
    partial: Vec<u8>,
    max_len: usize,
    /// Bytes of an oversized line skipped so far, while waiting for its newline.
    skipping: Option<u64>,
}

fn len64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

impl Splitter {
    /// A splitter keeping lines of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Splitter {
        Splitter {
            partial: Vec::new(),
            max_len,
            skipping: None,
        }
    }

    /// Reads `data`, handing each complete line to `emit`.
    pub fn feed(&mut self, mut data: &[u8], emit: &mut impl FnMut(Piece<'_>)) {
        while let Some(newline) = memchr::memchr(b'\n', data) {
            let head = &data[..newline];
            let taken = len64(newline + 1);
            if let Some(skipped) = self.skipping.take() {
                emit(Piece::Oversized {
                    len: skipped + taken,
                });
            } else if self.partial.len() + head.len() > self.max_len {
                emit(Piece::Oversized {
                    len: len64(self.partial.len()) + taken,
                });
                self.partial.clear();
            } else if self.partial.is_empty() {
                emit(Piece::Line {
                    text: head,
                    len: taken,
                });
            } else {
                self.partial.extend_from_slice(head);
                emit(Piece::Line {
                    text: &self.partial,
                    len: len64(self.partial.len() - head.len()) + taken,
                });
                self.partial.clear();
            }
            data = &data[newline + 1..];
        }
        if data.is_empty() {
            return;
        }
        if let Some(skipped) = &mut self.skipping {
            *skipped += len64(data.len());
        } else if self.partial.len() + data.len() > self.max_len {
            self.skipping = Some(len64(self.partial.len() + data.len()));
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(data);
        }
    }

    /// Ends the stream: a last line without a newline comes out as it is (an oversized one
    /// as [`Piece::Oversized`]).
    pub fn finish(&mut self, emit: &mut impl FnMut(Piece<'_>)) {
        if let Some(skipped) = self.skipping.take() {
            emit(Piece::Oversized { len: skipped });
        } else if !self.partial.is_empty() {
            emit(Piece::Line {
                text: &self.partial,
                len: len64(self.partial.len()),
            });
        }
        self.reset();
    }

    /// Forgets any partial line (the stream starts over).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.skipping = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]], finish: bool) -> Vec<(Option<String>, u64)> {
        let mut splitter = Splitter::new(max);
        let mut out = Vec::new();
        let mut emit = |piece: Piece<'_>| match piece {
            Piece::Line { text, len } => {
                out.push((Some(String::from_utf8_lossy(text).into_owned()), len))
            }
            Piece::Oversized { len } => out.push((None, len)),
        };
        for chunk in chunks {
            splitter.feed(chunk, &mut emit);
        }
        if finish {
            splitter.finish(&mut emit);
        }
        out
    }

    #[test]
    fn whole_lines_only_and_their_lengths() {
        let out = split(100, &[b"ab\ncd", b"e\n", b"f"], false);
        assert_eq!(
            out,
            [(Some("ab".into()), 3), (Some("cde".into()), 4)],
            "the partial `f` waits"
        );
        let out = split(100, &[b"ab\ncd", b"e\n", b"f"], true);
        assert_eq!(out.last(), Some(&(Some("f".into()), 1)));
    }

    #[test]
    fn long_lines_are_skipped_whole_and_counted() {
        let out = split(3, &[b"abcd", b"ef\nxy", b"z\n"], false);
        assert_eq!(out, [(None, 7), (Some("xyz".into()), 4)]);
        let out = split(3, &[b"ab", b"cd\n"], false);
        assert_eq!(out, [(None, 5)]);
        let out = split(3, &[b"abcdef"], true);
        assert_eq!(out, [(None, 6)]);
    }
}
