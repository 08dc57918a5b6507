//! The README's "Try it" examples, taken from README.md itself (so they cannot drift from what a
//! new user reads) and run with bash against a fresh server, as a user would paste them: the
//! only changes are the address (a free port instead of 8080), `cargo run --release --` (the
//! built binary), and `curl --fail-with-body`, so that any non-2xx answer fails the example.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// The key the README's examples use.
const README_KEY: &str = "0123456789abcdef0123456789abcdef01234567";

/// The longest one example may run.
const EXAMPLE_LIMIT: Duration = Duration::from_secs(60);

/// The shell blocks of the README's "Try it" section, in order.
fn try_it_blocks() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Try it"))
        .expect("a \"Try it\" section");
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() == "```sh" {
            let block: Vec<&str> = lines
                .by_ref()
                .take_while(|l| l.trim_end() != "```")
                .collect();
            blocks.push(block.join("\n"));
        }
    }
    blocks
}

/// `block` as it runs here: against `server`, with the built binary.
fn adapted(block: &str, server: &Server) -> String {
    block
        .replace("http://127.0.0.1:8080", &server.base)
        .replace("cargo run --release --", env!("CARGO_BIN_EXE_eventhose"))
        .replace("curl -sS", "curl -sS --fail-with-body")
}

/// Runs `script` with bash in `dir`; returns what it printed on stdout.
async fn bash(script: &str, dir: &Path) -> String {
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir);
    run_to_end(
        command,
        &format!("README example\n{script}\n"),
        EXAMPLE_LIMIT,
    )
    .await
}

/// Every JSON document in `text`, in order.
fn documents(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a sequence of JSON documents ({e}):\n{text}"))
}

#[tokio::test]
async fn readme_examples_work_on_the_day_they_are_run() {
    let blocks = try_it_blocks();
    let find = |needle: &str| -> &String {
        blocks
            .iter()
            .find(|b| b.contains(needle))
            .unwrap_or_else(|| panic!("no example with {needle:?} in {blocks:#?}"))
    };
    // The README starts the server itself; here it is started the same way on a free port, in a
    // directory whose `./data` it uses, as `keys` run there will.
    assert!(find("-- serve").contains(&format!("EVENTHOSE_BOOTSTRAP_KEY={README_KEY}")));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[("EVENTHOSE_BOOTSTRAP_KEY", README_KEY)]);

    // Ingest: both events accepted, whatever today's date.
    let ingested = bash(&adapted(find("/api/v1/ingest/events"), &server), dir.path()).await;
    assert_eq!(
        documents(&ingested)[0]["results"]["accepted"],
        2,
        "{ingested}"
    );

    // The queries: every one answers 2xx, and once the subscribers have the two events, with
    // them: the delivery to example.com, the hour's delivery, both of jane's events.
    let queries = adapted(find("/metrics/deliverability/domain"), &server);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answers = documents(&bash(&queries, dir.path()).await);
        assert_eq!(answers.len(), 4, "four queries: {answers:#?}");
        let domain = &answers[0]["results"][0];
        let series_delivered: u64 = answers[1]["results"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r["count_delivered"].as_u64())
                    .sum()
            })
            .unwrap_or(0);
        let events = answers[2]["total_count"].as_u64();
        if domain["domain"] == "example.com"
            && domain["count_targeted"] == 1
            && domain["count_delivered"] == 1
            && series_delivered == 1
            && events == Some(2)
        {
            assert!(answers[3]["results"].is_array(), "{}", answers[3]);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the README's queries never showed the ingested events: {answers:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Keys, while the server runs: created, listed, revoked (the `<id>` the README leaves to
    // the reader is the new key's).
    let keys = adapted(find("keys create"), &server);
    let (create, rest) = keys.split_once('\n').expect("create, then the rest");
    let secret = bash(create, dir.path()).await;
    let listed = bash(
        &format!("{} keys list --json", env!("CARGO_BIN_EXE_eventhose")),
        dir.path(),
    )
    .await;
    let listed: Value = serde_json::from_str(&listed).expect("keys list --json");
    let id = listed
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["label"] == "mta-1"))
        .and_then(|k| k["id"].as_str())
        .expect("the new key is listed")
        .to_owned();
    let listing = bash(&rest.replace("<id>", &id), dir.path()).await;
    assert!(listing.contains("mta-1"), "{listing}");
    let metrics_status = || async {
        client()
            .get(server.url("/api/v1/metrics/domains"))
            .header("Authorization", secret.trim())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    eventually("the revoked key stops working", || async {
        metrics_status().await == 401
    })
    .await;

    // The simulator's flags as the README gives them (for a second, not thirty).
    let simulate =
        adapted(find("simulate --rate"), &server).replace("--duration 30s", "--duration 1s");
    bash(&simulate, dir.path()).await;
}
