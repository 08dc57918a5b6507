//! Operational endpoints and graceful shutdown.

use crate::harness::*;

#[tokio::test]
async fn health_readiness_metrics_and_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    assert_eq!(
        c.get(server.url("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        c.get(server.url("/readyz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "m", 3))
            .await
            .status(),
        200
    );
    let text = c
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "eventhose_ingest_events_total 3",
        "eventhose_ingest_event_bytes_total",
        "eventhose_http_requests_total{",
        "eventhose_hose_fsync_seconds_bucket",
        "eventhose_hose_subscriber_lag_bytes{subscriber=\"counter\"}",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    // An unknown API path answers in SparkPost's shape.
    let response = c
        .get(server.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(json["errors"][0]["message"].is_string());

    eventually("counted", || async {
        counted(&server, "delivery").await == 3
    })
    .await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM exit: {status:?}");

    // The counts survived the clean stop, and nothing is counted twice after the restart.
    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "n", 2))
            .await
            .status(),
        200
    );
    eventually("counted after restart", || async {
        counted(&server, "delivery").await == 5
    })
    .await;
}
