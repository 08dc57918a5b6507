//! Nothing lost: SIGKILL mid-stream, restart, and every event that got a 200 is counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::harness::*;

/// One client per event type, so per-type counts prove per-client delivery.
const TYPES: [&str; 4] = ["delivery", "bounce", "open", "click"];
const BATCH: usize = 200;

#[tokio::test]
async fn sigkill_mid_stream_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments, so the crash lands on a log with rolled and retired segments.
    let env = [("EVENTHOSE_HOSE__SEGMENT_BYTES", "262144")];
    let server = Server::start(dir.path(), &env);
    let base = server.url("/api/v1/ingest/events");

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<AtomicU64>> = TYPES.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
    let sent: Vec<Arc<AtomicU64>> = TYPES.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut clients = Vec::new();
    for (i, event_type) in TYPES.iter().enumerate() {
        let (stop, acked, sent, base) = (
            stop.clone(),
            acked[i].clone(),
            sent[i].clone(),
            base.clone(),
        );
        clients.push(tokio::spawn(async move {
            let client = client();
            // Bounded: at most 10,000 requests per client.
            for request in 0..10_000u64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = ndjson(event_type, &format!("{event_type}-{request}"), BATCH);
                sent.fetch_add(BATCH as u64, Ordering::SeqCst);
                let result = client
                    .post(&base)
                    .header("Authorization", ROOT_KEY)
                    .body(body)
                    .send()
                    .await;
                match result {
                    Ok(response) if response.status() == 200 => {
                        acked.fetch_add(BATCH as u64, Ordering::SeqCst);
                    }
                    _ => break, // the server is gone
                }
            }
        }));
    }

    // Let a real stream build up, then kill the server in the middle of it.
    eventually("some batches acknowledged", || async {
        acked
            .iter()
            .all(|a| a.load(Ordering::SeqCst) >= 25 * BATCH as u64)
    })
    .await;
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    // Restart on the same data: the log opens (a torn tail is cut), and the subscriber catches up.
    let server = Server::start(dir.path(), &env);
    for (i, event_type) in TYPES.iter().enumerate() {
        let acked = acked[i].load(Ordering::SeqCst);
        let sent = sent[i].load(Ordering::SeqCst);
        eventually(
            &format!("every acknowledged {event_type} counted"),
            || async { counted(&server, event_type).await >= acked },
        )
        .await;
        let counted = counted(&server, event_type).await;
        assert!(
            counted <= sent,
            "{event_type}: counted {counted} of {sent} sent: counted twice"
        );
    }
    // The counter has caught up with the whole log, and the log still takes writes.
    eventually("the counter has no lag", || async {
        metric(
            &server,
            "eventhose_hose_subscriber_lag_bytes{subscriber=\"counter\"}",
        )
        .await
            == Some(0.0)
    })
    .await;
    let response = ingest(&server, ROOT_KEY, ndjson("delivery", "after-crash", 10)).await;
    assert_eq!(response.status(), 200);
}
