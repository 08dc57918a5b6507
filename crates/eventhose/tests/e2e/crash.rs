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

/// A small filesystem of its own (tmpfs), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes a ballast file until the filesystem is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let ballast = self.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..100_000 {
            if file.write_all(&chunk).is_err() {
                return ballast;
            }
        }
        panic!("the filesystem never filled");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// With the free-space floor off (as when another process fills the disk faster than the floor
/// check sees it), a write that fails on a full disk answers 503 with `Retry-After`; once space
/// returns, ingest resumes by itself, and every acknowledged event is counted exactly once.
#[tokio::test]
async fn a_full_disk_answers_503_and_ingest_resumes_when_space_returns() {
    full_disk_and_back(&[]).await;
}

/// The same with segments so small that every write rolls to a new segment: those the
/// failed writes created are deleted, and the log goes on from the last committed one.
#[tokio::test]
async fn a_full_disk_across_segment_rolls_is_repaired_the_same_way() {
    full_disk_and_back(&[("EVENTHOSE_HOSE__SEGMENT_BYTES", "256")]).await;
}

async fn full_disk_and_back(env: &[(&str, &str)]) {
    let disk = SmallDisk::mount(128);
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut env = env.to_vec();
    env.push(("EVENTHOSE_HOSE__MIN_FREE_DISK_BYTES", "0"));
    let server = Server::start(&data, &env);
    let mut acknowledged = 0u64;
    let mut batch = 0;
    let mut send = || {
        batch += 1;
        ingest(
            &server,
            ROOT_KEY,
            ndjson("delivery", &format!("full-{batch}"), 50),
        )
    };
    let before = send().await;
    assert_eq!(before.status(), 200);
    acknowledged += 50;

    let ballast = disk.fill();
    // What still fits in pages the files already hold is taken; then the disk is full.
    let mut refused = false;
    for _ in 0..100 {
        let answer = send().await;
        match answer.status().as_u16() {
            200 => acknowledged += 50,
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                refused = true;
                break;
            }
            other => panic!("a full disk answered {other}: {:?}", answer.text().await),
        }
    }
    assert!(refused, "the full disk never refused a request");
    eventually("/readyz reports the hose's storage down", || async {
        let (status, body) = readyz(&server).await;
        status == 503 && body.contains("down: hose: the last write failed")
    })
    .await;
    std::fs::remove_file(&ballast).unwrap();
    // No request needs to tell it: the server is ready again by itself.
    eventually("/readyz is ready again once space returns", || async {
        readyz(&server).await.0 == 200
    })
    .await;
    let mut resumed = None;
    for _ in 0..100 {
        let answer = send().await;
        if answer.status() == 200 {
            resumed = Some(answer);
            break;
        }
        assert_eq!(answer.status(), 503);
        assert!(answer.headers().contains_key("retry-after"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        resumed.is_some(),
        "ingest never resumed once space returned"
    );
    acknowledged += 50;
    eventually("every acknowledged event counted once", || async {
        counted(&server, "delivery").await == acknowledged
    })
    .await;
    eventually("and in the metrics once", || async {
        crate::amqp::metric_total(&server, "count_delivered").await == acknowledged
    })
    .await;
    assert_eq!(counted(&server, "delivery").await, acknowledged);
    drop(server);
}

/// `GET /readyz`: its status and body.
async fn readyz(server: &Server) -> (u16, String) {
    let answer = client().get(server.url("/readyz")).send().await.unwrap();
    (
        answer.status().as_u16(),
        answer.text().await.unwrap_or_default(),
    )
}
