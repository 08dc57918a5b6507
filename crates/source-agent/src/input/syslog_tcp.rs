//! Syslog over TCP (RFC 6587), with either framing, told apart per connection.
//!
//! - **Octet counting**: `MSG-LEN SP SYSLOG-MSG`, where MSG-LEN is the decimal length. A
//!   connection whose first byte is a digit uses it (a message itself starts with `<`).
//! - **Non-transparent framing**: messages end with a newline (what most senders do).
//!
//! Messages longer than the limit are skipped and counted (a counted one by its length, a
//! newline-framed one up to its newline), so a connection costs at most the limit in memory.
//! At most `max_connections` connections are served at once; more wait in the listen backlog.
//! A malformed length closes the connection (the framing is lost).

use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::lines::{Piece, Splitter};
use super::{Item, Line};

/// The longest MSG-LEN read, in digits.
const MAX_LEN_DIGITS: usize = 10;

/// Accepts connections on `listener` until the receiver of `tx` is gone; dropping the future
/// closes every connection.
pub async fn listen(
    listener: TcpListener,
    max_message_len: usize,
    max_connections: usize,
    tx: mpsc::Sender<Item>,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let tx = tx.clone();
                    connections.spawn(async move {
                        read_messages(stream, peer.ip(), max_message_len, &tx).await;
                        drop(permit);
                    });
                }
                Err(error) => tracing::warn!(%error, "syslog TCP accept failed"),
            },
            () = tx.closed() => return,
        }
        while connections.try_join_next().is_some() {}
    }
}

/// Reads one connection's messages until it closes (or `tx` is gone).
pub async fn read_messages(
    mut stream: impl AsyncRead + Unpin,
    peer: IpAddr,
    max_message_len: usize,
    tx: &mpsc::Sender<Item>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    let mut framing: Option<Framing> = None;
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let data = &buffer[..read];
        let framing = framing.get_or_insert_with(|| {
            if data[0].is_ascii_digit() {
                Framing::Counted(Counted::new(max_message_len))
            } else {
                Framing::Newline(Splitter::new(max_message_len))
            }
        });
        let mut items = Vec::new();
        let ok = match framing {
            Framing::Counted(counted) => counted.feed(data, &mut |item| items.push(item), peer),
            Framing::Newline(splitter) => {
                splitter.feed(data, &mut |piece| items.push(to_item(piece, peer)));
                true
            }
        };
        for item in items {
            if tx.send(item).await.is_err() {
                return;
            }
        }
        if !ok {
            tracing::warn!(%peer, "syslog TCP: malformed octet count; closing the connection");
            return;
        }
    }
    if let Some(Framing::Newline(splitter)) = &mut framing {
        let mut items = Vec::new();
        splitter.finish(&mut |piece| items.push(to_item(piece, peer)));
        for item in items {
            if tx.send(item).await.is_err() {
                return;
            }
        }
    }
}

enum Framing {
    Counted(Counted),
    Newline(Splitter),
}

fn to_item(piece: Piece<'_>, peer: IpAddr) -> Item {
    match piece {
        Piece::Line { text, .. } => message(text, peer),
        Piece::Oversized { .. } => Item::Oversized { end: None },
    }
}

fn message(text: &[u8], peer: IpAddr) -> Item {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Item::Line(Line {
        text: text.to_vec(),
        start: None,
        end: None,
        peer: Some(peer),
    })
}

/// The state of octet-counted framing between reads.
struct Counted {
    max: usize,
    /// Digits of the length read so far.
    digits: Vec<u8>,
    /// The message being read, and how many bytes it still lacks.
    body: Option<(Vec<u8>, usize)>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
}

impl Counted {
    fn new(max: usize) -> Counted {
        Counted {
            max,
            digits: Vec::new(),
            body: None,
            skip: 0,
        }
    }

    /// Reads `data`; `false` when the framing is broken.
    fn feed(&mut self, mut data: &[u8], emit: &mut impl FnMut(Item), peer: IpAddr) -> bool {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                if self.skip == 0 {
                    emit(Item::Oversized { end: None });
                }
                continue;
            }
            if let Some((body, missing)) = &mut self.body {
                let n = (*missing).min(data.len());
                body.extend_from_slice(&data[..n]);
                *missing -= n;
                data = &data[n..];
                if *missing == 0 {
                    let text = std::mem::take(body);
                    self.body = None;
                    let text = text.strip_suffix(b"\n").unwrap_or(&text);
                    emit(message(text, peer));
                }
                continue;
            }
            let byte = data[0];
            data = &data[1..];
            match byte {
                b'0'..=b'9' if self.digits.len() < MAX_LEN_DIGITS => self.digits.push(byte),
                // Some senders end counted messages with a newline as well.
                b'\n' | b'\r' if self.digits.is_empty() => {}
                b' ' if !self.digits.is_empty() => {
                    let len = std::str::from_utf8(&self.digits)
                        .ok()
                        .and_then(|digits| digits.parse::<usize>().ok());
                    self.digits.clear();
                    match len {
                        Some(0) => {}
                        Some(len) if len > self.max => self.skip = len,
                        Some(len) => self.body = Some((Vec::with_capacity(len), len)),
                        None => return false,
                    }
                }
                _ => return false,
            }
        }
        true
    }
}
