//! The ingest API over real HTTP: formats, all-or-nothing, limits.

use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn accepts_ndjson_wrapped_and_bare() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let wrapped = format!(
        "{{\"msys\":{{\"message_event\":{}}}}}",
        event("delivery", "w-1")
    );
    let body = format!(
        "{wrapped}\n{}\n\n{}\r\n",
        event("delivery", "b-1"),
        event("click", "b-2")
    );
    let response = ingest(&server, ROOT_KEY, body).await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["results"]["accepted"], 3);
    assert!(json["results"]["id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    eventually("counter sees the 3 events", || async {
        counted(&server, "delivery").await == 2 && counted(&server, "click").await == 1
    })
    .await;
}

#[tokio::test]
async fn accepts_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let body = gzip(ndjson("open", "gz", 500).as_bytes());
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .header("Authorization", ROOT_KEY)
        .header("Content-Encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["results"]["accepted"], 500);
    eventually("counter sees 500 opens", || async {
        counted(&server, "open").await == 500
    })
    .await;
}

#[tokio::test]
async fn one_bad_line_rejects_the_whole_request_and_names_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let no_message_id = format!(
        r#"{{"type":"delivery","timestamp":"{}","rcpt_to":"a@b.c"}}"#,
        recent()
    );
    let body = format!(
        "{}\n{}\n{}\n{no_message_id}\nnot json\n",
        event("delivery", "ok-1"),
        r#"{"type":"teleport","timestamp":"1800000000","message_id":"m"}"#,
        event("delivery", "ok-2"),
    );
    let response = ingest(&server, ROOT_KEY, body).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    let errors = json["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().filter_map(|e| e["line"].as_u64()).collect();
    assert_eq!(lines, vec![2, 4, 5], "{json}");
    assert!(errors[0]["description"]
        .as_str()
        .unwrap()
        .contains("teleport"));
    assert_eq!(errors[1]["param"], "message_id", "{json}");

    // Nothing of the rejected request was stored: after a good request, only it is counted.
    let response = ingest(&server, ROOT_KEY, ndjson("bounce", "after", 2)).await;
    assert_eq!(response.status(), 200);
    eventually("the good request is counted", || async {
        counted(&server, "bounce").await == 2
    })
    .await;
    assert_eq!(counted(&server, "delivery").await, 0);
    let ingested = metric(&server, "eventhose_ingest_events_total").await;
    assert_eq!(ingested, Some(2.0));
}

#[tokio::test]
async fn limits_are_enforced_each_with_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("EVENTHOSE_INGEST__MAX_BODY_BYTES", "20000"),
            ("EVENTHOSE_INGEST__MAX_DECOMPRESSED_BYTES", "100000"),
            ("EVENTHOSE_INGEST__MAX_EVENTS", "10"),
            ("EVENTHOSE_INGEST__MAX_LINE_BYTES", "1000"),
        ],
    );
    async fn expect(server: &Server, response: reqwest::Response, status: u16, needle: &str) {
        assert_eq!(response.status(), status);
        let json: Value = response.json().await.unwrap();
        let text = json["errors"].to_string();
        assert!(text.contains(needle), "{needle:?} not in {text}");
        let _ = server;
    }

    // Compressed body over the limit.
    let big = "x".repeat(30_000);
    expect(
        &server,
        ingest(&server, ROOT_KEY, big).await,
        413,
        "exceeds 20000 bytes",
    )
    .await;

    // A gzip bomb: tiny on the wire, huge once inflated.
    let bomb = gzip(&vec![b'\n'; 15_000_000]);
    assert!(bomb.len() < 20_000);
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .header("Authorization", ROOT_KEY)
        .header("Content-Encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    expect(&server, response, 413, "once decompressed").await;

    // Too many events.
    expect(
        &server,
        ingest(&server, ROOT_KEY, ndjson("delivery", "many", 11)).await,
        413,
        "at most 10",
    )
    .await;

    // A line too long.
    let long = event("delivery", &"9".repeat(1000));
    expect(
        &server,
        ingest(&server, ROOT_KEY, long).await,
        400,
        "line 1",
    )
    .await;

    // An encoding we do not speak.
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .header("Authorization", ROOT_KEY)
        .header("Content-Encoding", "br")
        .body(event("delivery", "br"))
        .send()
        .await
        .unwrap();
    expect(&server, response, 415, "br").await;

    // An empty body.
    expect(
        &server,
        ingest(&server, ROOT_KEY, "\n\n").await,
        400,
        "no event",
    )
    .await;

    // None of it was stored.
    assert_eq!(metric(&server, "eventhose_ingest_events_total").await, None);
    let response = ingest(&server, ROOT_KEY, ndjson("delivery", "fine", 10)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_nearly_full_disk_answers_503_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Demand more free space than any disk has: every publish is refused.
    let server = Server::start(
        dir.path(),
        &[("EVENTHOSE_HOSE__MIN_FREE_DISK_BYTES", "1000000000000000000")],
    );
    let response = ingest(&server, ROOT_KEY, ndjson("delivery", "full", 3)).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let json: Value = response.json().await.unwrap();
    assert!(
        json["errors"][0]["description"]
            .as_str()
            .unwrap()
            .contains("disk is nearly full"),
        "{json}"
    );
    assert_eq!(metric(&server, "eventhose_ingest_events_total").await, None);
}
