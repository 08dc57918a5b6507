//! The syslog listeners on loopback sockets: UDP datagrams, TCP with octet counting and with
//! newline framing, and the limits.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use eventhose_source_agent::input::{syslog_tcp, syslog_udp, Item};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// The next `n` items, as text (`None` for an oversized message).
async fn next(rx: &mut mpsc::Receiver<Item>, n: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    while out.len() < n {
        let item = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an item in time")
            .expect("the input is running");
        match item {
            Item::Line(line) => {
                assert!(line.peer.unwrap().is_loopback());
                out.push(Some(String::from_utf8(line.text).unwrap()));
            }
            Item::Oversized { .. } => out.push(None),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

const MESSAGE: &str = "<22>Dec  7 10:00:00 mx postfix/qmgr[2]: 1CF582025C: removed";

#[tokio::test]
async fn udp_datagrams_are_messages() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(syslog_udp::receive(socket, 100, tx));
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sender.send_to(MESSAGE.as_bytes(), addr).await.unwrap();
    sender
        .send_to(format!("{MESSAGE}\n").as_bytes(), addr)
        .await
        .unwrap();
    sender.send_to(&[b'x'; 500], addr).await.unwrap();
    let got = next(&mut rx, 3).await;
    assert_eq!(
        got,
        [Some(MESSAGE.to_owned()), Some(MESSAGE.to_owned()), None]
    );
    task.abort();
}

#[tokio::test]
async fn tcp_reads_both_framings_per_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(syslog_tcp::listen(listener, 100, 4, tx));

    // Newline framing, a message split across writes, and one too long.
    let mut newline = TcpStream::connect(addr).await.unwrap();
    newline.write_all(b"<22>first\n<22>sec").await.unwrap();
    newline.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    newline.write_all(b"ond\r\n").await.unwrap();
    newline.write_all(&[b'y'; 300]).await.unwrap();
    newline.write_all(b"\n<22>third\n").await.unwrap();
    let got = next(&mut rx, 4).await;
    assert_eq!(
        got,
        [
            Some("<22>first".to_owned()),
            Some("<22>second".to_owned()),
            None,
            Some("<22>third".to_owned())
        ]
    );

    // Octet counting: a message with a newline inside, one split in its length, one too
    // long, and one more.
    let mut counted = TcpStream::connect(addr).await.unwrap();
    let body = "<22>a\nb";
    counted
        .write_all(format!("{} {body}1", body.len()).as_bytes())
        .await
        .unwrap();
    counted.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    counted.write_all(b"0 <22>012345").await.unwrap();
    counted
        .write_all(format!("200 {}", "z".repeat(200)).as_bytes())
        .await
        .unwrap();
    counted.write_all(b"5 <22>x").await.unwrap();
    let got = next(&mut rx, 4).await;
    assert_eq!(
        got,
        [
            Some(body.to_owned()),
            Some("<22>012345".to_owned()),
            None,
            Some("<22>x".to_owned())
        ]
    );
    drop(newline);
    drop(counted);
    task.abort();
}

#[tokio::test]
async fn a_broken_octet_count_closes_only_that_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(syslog_tcp::listen(listener, 100, 4, tx));
    let mut broken = TcpStream::connect(addr).await.unwrap();
    broken.write_all(b"12x <22>oops").await.unwrap();
    let mut fine = TcpStream::connect(addr).await.unwrap();
    fine.write_all(b"<22>fine\n").await.unwrap();
    assert_eq!(next(&mut rx, 1).await, [Some("<22>fine".to_owned())]);
    task.abort();
}
