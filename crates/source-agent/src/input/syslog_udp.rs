//! Syslog over UDP (RFC 5426): one datagram is one message. A datagram longer than the limit
//! is cut off by the receive buffer and counted as oversized; a trailing newline or NUL some
//! senders add is dropped.
//!
//! UDP has no flow control: a datagram that arrives while the socket's receive buffer is full
//! is dropped by the kernel. The socket asks for a large buffer (`udp_receive_buffer_bytes`,
//! capped by the kernel at `net.core.rmem_max`) so that bursts, and the moments the agent
//! spends on a request, do not cost messages; TCP loses nothing.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{Item, Line};

/// A UDP socket bound to `addr` with a receive buffer of `buffer_bytes` asked for (the
/// kernel may give less, up to `net.core.rmem_max`; the size granted is logged).
pub fn bind(addr: SocketAddr, buffer_bytes: usize) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_recv_buffer_size(buffer_bytes)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    tracing::debug!(
        asked = buffer_bytes,
        granted = socket.recv_buffer_size()?,
        "syslog UDP receive buffer"
    );
    UdpSocket::from_std(socket.into())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's default receive buffer (`net.core.rmem_default`), in bytes.
    fn default_buffer() -> usize {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket2::SockRef::from(&socket).recv_buffer_size().unwrap()
    }

    #[tokio::test]
    async fn the_socket_gets_a_larger_receive_buffer_than_the_default() {
        let socket = bind("127.0.0.1:0".parse().unwrap(), 8 << 20).unwrap();
        let granted = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        assert!(
            granted > default_buffer(),
            "granted {granted}, default {}",
            default_buffer()
        );
        assert!(socket.local_addr().unwrap().port() > 0);
    }
}
