//! Lines from standard input (or any reader), in a thread of their own: read until end of
//! file, then [`Item::End`]. No position is kept: what was read is not read again.

use std::io::{ErrorKind, Read};

use tokio::sync::mpsc;

use super::lines::{Piece, Splitter};
use super::{Item, Line};

/// Reads `reader` to its end in a new thread, sending its lines (at most `max_line_len`
/// bytes each) to `tx`. The thread stops early when the receiver is gone.
pub fn spawn_reader<R: Read + Send + 'static>(
    mut reader: R,
    max_line_len: usize,
    tx: mpsc::Sender<Item>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut splitter = Splitter::new(max_line_len);
        let mut buffer = vec![0_u8; 64 * 1024];
        let mut items = Vec::new();
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => {
                    let _ = tx.blocking_send(Item::Failed(error));
                    return;
                }
            };
            splitter.feed(&buffer[..read], &mut |piece| items.push(to_item(piece)));
            for item in items.drain(..) {
                if tx.blocking_send(item).is_err() {
                    return;
                }
            }
        }
        splitter.finish(&mut |piece| items.push(to_item(piece)));
        items.push(Item::End);
        for item in items {
            if tx.blocking_send(item).is_err() {
                return;
            }
        }
    })
}

fn to_item(piece: Piece<'_>) -> Item {
    match piece {
        Piece::Line { text, .. } => Item::Line(Line {
            text: text.to_vec(),
            start: None,
            end: None,
            peer: None,
        }),
        Piece::Oversized { .. } => Item::Oversized { end: None },
    }
}
