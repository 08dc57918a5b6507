//! Attacks on ingest by a client with a valid but limited key: writing into another account,
//! filling the stores with tables no retention drops, exhausting memory with one request.

use serde_json::Value;

use crate::harness::*;

/// A spam complaint for `rcpt`, naming `subaccount` when given.
fn complaint(id: &str, rcpt: &str, subaccount: Option<&str>) -> String {
    let named = subaccount.map_or(String::new(), |s| format!(r#","subaccount_id":"{s}""#));
    format!(
        r#"{{"type":"spam_complaint","event_id":"{id}","timestamp":"{}","message_id":"m-{id}","rcpt_to":"{rcpt}","fbtype":"abuse"{named}}}"#,
        recent()
    ) + "\n"
}

/// The suppression entries of `rcpt` as `account` sees them.
async fn suppressed(server: &Server, rcpt: &str, account: &str) -> Vec<Value> {
    let response = client()
        .get(server.url(&format!("/api/v1/suppression-list/{rcpt}")))
        .header("Authorization", ROOT_KEY)
        .header("X-MSYS-SUBACCOUNT", account)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        404 => Vec::new(),
        200 => {
            let json: Value = response.json().await.unwrap();
            json["results"].as_array().cloned().unwrap_or_default()
        }
        other => panic!("suppression lookup answered {other}"),
    }
}

/// Asserts that the server's peak resident memory stayed less than `ceiling` bytes above
/// `resting`.
fn assert_grew_less_than(server: &Server, resting: u64, ceiling: u64) {
    let grown = server.peak_rss_bytes().saturating_sub(resting);
    assert!(
        grown < ceiling,
        "peak RSS {} MB above resting, ceiling {} MB",
        grown >> 20,
        ceiling >> 20
    );
}

#[tokio::test]
async fn subaccount_key_cannot_ingest_a_complaint_into_another_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let key = keys(
        dir.path(),
        &["create", "--grant", "events/ingest", "--subaccount", "3"],
    );
    let key = key.trim();

    // Naming another subaccount, or the primary account, is refused by line.
    for (line, other) in [(2, "7"), (2, "0")] {
        let body = complaint("ok", "victim@example.com", None)
            + &complaint("attack", "victim@example.com", Some(other));
        let response = ingest(&server, key, body).await;
        assert_eq!(response.status(), 400, "subaccount {other}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["errors"][0]["line"], line, "{json}");
        assert_eq!(json["errors"][0]["param"], "subaccount_id", "{json}");
    }

    // Naming its own, or none, is accepted and lands in subaccount 3 only.
    let body = complaint("own", "own@example.com", Some("3"))
        + &complaint("unnamed", "unnamed@example.com", None);
    assert_eq!(ingest(&server, key, body).await.status(), 200);
    eventually("both complaints suppress in subaccount 3", || async {
        suppressed(&server, "own@example.com", "3").await.len() == 1
            && suppressed(&server, "unnamed@example.com", "3").await.len() == 1
    })
    .await;
    for account in ["0", "7"] {
        assert!(suppressed(&server, "unnamed@example.com", account)
            .await
            .is_empty());
        assert!(suppressed(&server, "victim@example.com", account)
            .await
            .is_empty());
    }
    assert!(suppressed(&server, "victim@example.com", "3")
        .await
        .is_empty());
    eventually("only the two accepted complaints are counted", || async {
        counted(&server, "spam_complaint").await == 2
    })
    .await;
}

#[tokio::test]
async fn a_subaccount_id_past_the_range_is_refused_not_read_as_all_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let body = complaint("huge", "a@example.com", Some("18446744073709551615"))
        + &complaint("negative", "b@example.com", Some("-1"));
    let response = ingest(&server, ROOT_KEY, body).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    let params: Vec<&str> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["param"].as_str())
        .collect();
    assert_eq!(params, ["subaccount_id", "subaccount_id"], "{json}");
}

#[tokio::test]
async fn events_from_far_past_or_future_cannot_create_tables_no_retention_drops() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("EVENTHOSE_INGEST__MAX_CLOCK_SKEW_SECS", "600"),
            ("EVENTHOSE_ANALYTICS__METRICS_RETENTION_DAYS", "30"),
        ],
    );
    let now = chrono::Utc::now().timestamp();
    let line = |id: &str, at: i64| {
        format!(
            r#"{{"type":"delivery","event_id":"{id}","timestamp":"{at}","message_id":"m-{id}","rcpt_to":"r@example.com"}}"#
        ) + "\n"
    };
    // Outside: older than the longest retention (30 days), or beyond the skew (600 s).
    let body = line("fine", now - 60)
        + &line("old", now - 31 * 86_400)
        + &line("ahead", now + 700)
        + &line("year-9999", 253_402_300_000);
    let response = ingest(&server, ROOT_KEY, body).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    let refused: Vec<(u64, &str)> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["param"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [(2, "timestamp"), (3, "timestamp"), (4, "timestamp")],
        "{json}"
    );
    // Inside, up to the edges (with room for the seconds this test takes).
    let body = line("day-29", now - 29 * 86_400) + &line("ahead-500", now + 500);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eventually("the two accepted events are counted", || async {
        counted(&server, "delivery").await == 2
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_tiny_lines_is_refused_without_buffering_every_line() {
    // 64 MiB of "1\n" (33 million lines) gzips to about 300 KB. Reading it into a list of
    // lines before counting them took this server 1.3 GB past its resting size for one
    // request; counting while reading stops at the first line past `max_events`, so a request
    // costs about its decompressed body (`max_decompressed_bytes`, 64 MiB), four at once less
    // than the ceiling.
    const CEILING_BYTES: u64 = 400 << 20;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let resting = server.rss_bytes();
    let flood = gzip(&b"1\n".repeat(32 << 20));
    let requests = (0..4).map(|_| {
        client()
            .post(server.url("/api/v1/ingest/events"))
            .header("Authorization", ROOT_KEY)
            .header("Content-Encoding", "gzip")
            .body(flood.clone())
            .send()
    });
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), 413);
        let json: Value = response.json().await.unwrap();
        assert!(json["errors"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("line 10001")));
    }
    assert_grew_less_than(&server, resting, CEILING_BYTES);
}

#[tokio::test]
async fn a_bulk_suppression_body_of_tiny_arrays_costs_no_more_than_its_size() {
    // Nearly 50 MB of `[],` in a field nobody reads: as a `serde_json::Value` tree that is
    // 16 million values (about 0.5 GB each); read as borrowed raw JSON it is the body alone,
    // four at once less than the ceiling.
    const CEILING_BYTES: u64 = 400 << 20;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let resting = server.rss_bytes();
    let filler = "[],".repeat(16_000_000);
    let body = format!(
        r#"{{"recipients":[{{"recipient":"a@example.com","type":"transactional","padding":[{filler}[]]}}]}}"#
    );
    let requests = (0..4).map(|_| {
        client()
            .put(server.url("/api/v1/suppression-list"))
            .header("Authorization", ROOT_KEY)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    });
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert_grew_less_than(&server, resting, CEILING_BYTES);
}
