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
    let text = metrics_text(&server).await;
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
    eventually("the analytic store's memory is exported", || async {
        metric(&server, "eventhose_analytics_memory_bytes")
            .await
            .is_some_and(|bytes| bytes > 0.0)
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

/// The server's `eventhose_http_requests_total` series.
async fn request_series(server: &Server) -> Vec<String> {
    let text = metrics_text(server).await;
    text.lines()
        .filter(|l| l.starts_with("eventhose_http_requests_total{"))
        .map(str::to_owned)
        .collect()
}

/// Reads from `stream` until the server closes it; returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slowloris_headers_are_cut_off_at_the_header_read_timeout() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[("EVENTHOSE_HTTP__HEADER_READ_TIMEOUT_MS", "300")],
    );
    let address = server.base.trim_start_matches("http://");
    // Half a request's headers, then silence.
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"POST /api/v1/ingest/events HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    read_until_closed(&mut slow).await;
    // An idle connection (no request at all) is closed too.
    let mut idle = tokio::net::TcpStream::connect(address).await.unwrap();
    read_until_closed(&mut idle).await;
    // The server still serves.
    let health = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408_at_the_request_deadline() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("EVENTHOSE_HTTP__REQUEST_TIMEOUT_MS", "300")]);
    let address = server.base.trim_start_matches("http://");
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/ingest/events HTTP/1.1\r\nHost: x\r\nAuthorization: {ROOT_KEY}\r\nContent-Length: 100000\r\n\r\n{{\"type\""
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"errors\""), "{answer}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("EVENTHOSE_HTTP__MAX_CONNECTIONS", "3")]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    // Every slot is taken by a silent connection: a fourth client is not served …
    let waiting = tokio::spawn({
        let url = server.url("/healthz");
        async move { client().get(url).send().await.map(|r| r.status().as_u16()) }
    });
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        while !waiting.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(early.is_err(), "a connection past the cap was served");
    // … until one closes.
    drop(held.pop());
    let status = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("served once a slot freed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

/// A client that asks for answers and never reads them (here: three thousand pipelined requests
/// for the Prometheus page, far more than the socket buffers hold) is disconnected at the write
/// deadline, so it cannot keep the only connection slot.
#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_at_the_write_deadline() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("EVENTHOSE_HTTP__MAX_CONNECTIONS", "1"),
            ("EVENTHOSE_HTTP__WRITE_TIMEOUT_MS", "300"),
        ],
    );
    let address = server.base.trim_start_matches("http://");
    let mut greedy = tokio::net::TcpStream::connect(address).await.unwrap();
    let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3_000);
    greedy.write_all(requests.as_bytes()).await.unwrap();
    // The only slot is the greedy client's until the server gives up on it.
    let health = tokio::time::timeout(PATIENCE, client().get(server.url("/healthz")).send())
        .await
        .expect("a client that stopped reading kept the only connection slot")
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(greedy);
}

/// A subscriber whose store fails is reported down at once (in `/readyz`, with the cause, and
/// in `eventhose_component_up`), restarted with a growing pause, and catches up once the store
/// works again: every event is counted once.
#[tokio::test]
async fn a_failing_subscriber_is_reported_down_restarted_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        // Five failures: restarts after 0.2, 0.4, 0.8, 1.6 and 3.2 s, an outage of six seconds.
        &[("TEST_EVENTHOSE_METRICS_COMMIT_FAILURES", "5")],
    );
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "down", 5))
            .await
            .status(),
        200
    );
    let readiness = || async {
        let response = client().get(server.url("/readyz")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let deadline = std::time::Instant::now() + PATIENCE;
    let body = loop {
        let (status, body) = readiness().await;
        let gauge = metric(&server, "eventhose_component_up{component=\"metrics\"}").await;
        if status == 503 && gauge == Some(0.0) {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the outage was never reported"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        body.contains("down: metrics: analytic store: injected commit failure"),
        "{body}"
    );
    eventually("the subscriber catches up", || async {
        crate::amqp::metric_total(&server, "count_delivered").await == 5
    })
    .await;
    eventually("ready again", || async { readiness().await.0 == 200 }).await;
    assert_eq!(
        metric(&server, "eventhose_component_up{component=\"metrics\"}").await,
        Some(1.0)
    );
    assert_eq!(
        metric(
            &server,
            "eventhose_component_restarts_total{component=\"metrics\"}"
        )
        .await,
        Some(5.0)
    );
}

#[tokio::test]
async fn invented_http_methods_do_not_add_prometheus_series() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        c.request(method, server.url("/api/v1/webhooks"))
            .send()
            .await
            .unwrap();
    }
    let series = request_series(&server).await;
    assert!(
        series.iter().all(|l| !l.contains("method=\"M")),
        "{series:?}"
    );
    assert!(
        series.iter().any(|l| l.contains("method=\"other\"")),
        "{series:?}"
    );
}

/// The binary merges the Reports UI into the API's application: the page at `/` and its
/// assets under `/ui/` are served, and counted by route like the API's requests.
#[tokio::test]
async fn the_reports_ui_is_served_and_counted_by_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let page = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let content_type = page.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(
        c.get(server.url("/ui/app.css"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(server.url("/ui/nothing.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let series = request_series(&server).await;
    for route in ["route=\"/\"", "route=\"/ui/{*path}\""] {
        assert!(
            series.iter().any(|l| l.contains(route)),
            "{route} not counted: {series:?}"
        );
    }
}
