//! Syslog over UDP (RFC 5426): one datagram is one message. A datagram longer than the limit
//! is cut off by the receive buffer and counted as oversized; a trailing newline or NUL some
//! senders add is dropped.

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{Item, Line};

/// Receives messages on `socket` until the receiver of `tx` is gone. Messages of more than
/// `max_message_len` bytes are skipped (counted as oversized).
pub async fn receive(socket: UdpSocket, max_message_len: usize, tx: mpsc::Sender<Item>) {
    // One byte more than the limit tells a message of exactly the limit from a longer one.
    let mut buffer = vec![0_u8; max_message_len.saturating_add(1).min(65_536)];
    loop {
        let (len, peer) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // A datagram error (an ICMP answer to an earlier send) is no reason to stop.
                tracing::debug!(%error, "syslog UDP receive error");
                continue;
            }
        };
        let item = if len > max_message_len {
            Item::Oversized { end: None }
        } else {
            let mut text = &buffer[..len];
            while let [rest @ .., b'\n' | b'\r' | 0] = text {
                text = rest;
            }
            Item::Line(Line {
                text: text.to_vec(),
                start: None,
                end: None,
                peer: Some(peer.ip()),
            })
        };
        if tx.send(item).await.is_err() {
            return;
        }
    }
}
