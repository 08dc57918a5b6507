//! Cursor paging: pages follow `links.next` without gaps or repeats while events arrive,
//! `total_count` stays put, and the links keep the filters.

use super::{encode, event, harness, insert, time, Harness};
use serde_json::json;

/// Follows `links.next` from `first`, calling `between` after each page that has a next one.
/// Returns the ids seen, the `total_count` of each page, and the links followed.
async fn walk(
    h: &Harness,
    first: String,
    mut between: impl FnMut(usize),
) -> (Vec<String>, Vec<u64>, Vec<String>) {
    let mut seen = Vec::new();
    let mut totals = Vec::new();
    let mut links = Vec::new();
    let mut uri = first;
    for page in 0..50 {
        let answer = h.get(&uri).await;
        seen.extend(answer.ids());
        totals.push(answer.body["total_count"].as_u64().unwrap());
        match answer.body["links"]["next"].as_str() {
            Some(next) => {
                links.push(next.to_owned());
                uri = next.to_owned();
            }
            None => return (seen, totals, links),
        }
        between(page);
    }
    panic!("paging did not end");
}

/// The value of `name` in a link's query.
fn param(link: &str, name: &str) -> Option<String> {
    let (_, query) = link.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn pages_have_no_gaps_or_repeats_while_events_arrive() {
    let h = harness().await;
    let recipients = "ann@gmail.com,bob@yahoo.co.uk,cy@hotmail.com";
    let first = format!(
        "/api/v1/events/message?{}&recipients={}&per_page=2&cursor=initial",
        h.window(),
        encode(recipients)
    );
    let mut arrived = 0;
    let (seen, totals, links) = walk(&h, first, |_| {
        // Matching events arrive between pages: newer than everything, inside pages already
        // read, and inside pages still to come.
        for at in [h.t0 + 900, h.t0 + 270, h.t0 + 30, h.t0 + 150] {
            arrived += 1;
            let id = format!("n{arrived}");
            insert(
                &h.store,
                &[event("open", at, &id, json!({"rcpt_to": "ann@gmail.com"}))],
            );
        }
    })
    .await;
    assert_eq!(seen, ["e09", "e06", "e05", "e04", "e03", "e02", "e01"]);
    assert_eq!(totals, [7, 7, 7, 7]);
    assert_eq!(links.len(), 3);
    for link in &links {
        assert!(link.starts_with("/api/v1/events/message?"), "{link}");
        assert_eq!(param(link, "recipients").as_deref(), Some(recipients));
        assert_eq!(param(link, "per_page").as_deref(), Some("2"));
        assert_eq!(param(link, "from"), Some(time(h.t0 - 600)));
        assert_eq!(param(link, "to"), Some(time(h.t0 + 3_600)));
        assert_ne!(param(link, "cursor").as_deref(), Some("initial"));
    }
    // A new search sees the events that arrived.
    let fresh = h
        .get(&format!(
            "/api/v1/events/message?{}&recipients={}",
            h.window(),
            encode(recipients)
        ))
        .await;
    assert_eq!(fresh.body["total_count"], 7 + arrived);
}

#[tokio::test]
async fn default_windows_are_pinned_in_the_links() {
    let h = harness().await;
    let first = h
        .get("/api/v1/events/message?per_page=4&events=injection,open,click,delivery")
        .await;
    let next = first.body["links"]["next"].as_str().unwrap().to_owned();
    assert_eq!(
        param(&next, "events").as_deref(),
        Some("injection,open,click,delivery")
    );
    let from = param(&next, "from").unwrap();
    let to = param(&next, "to").unwrap();
    assert!(from.ends_with('Z') && to.ends_with('Z'), "{from} {to}");
    let (seen, totals, _) = walk(&h, next, |_| {}).await;
    let mut all = first.ids();
    all.extend(seen);
    assert_eq!(all, ["e08", "e06", "e05", "e02", "e01", "e00"]);
    assert!(totals.iter().all(|&t| t == 6), "{totals:?}");
}

#[tokio::test]
async fn per_page_bounds_and_the_last_page() {
    let h = harness().await;
    let one = h.ids("per_page=1").await;
    assert_eq!(one, ["e09"]);
    let answer = h.search_as("per_page=10000", &h.root).await;
    assert_eq!(answer.ids().len(), 8);
    assert!(answer.body["links"].get("next").is_none());
    // Exactly one page's worth: no next link.
    let exact = h.search_as("per_page=8", &h.root).await;
    assert_eq!(exact.ids().len(), 8);
    assert!(exact.body["links"].get("next").is_none(), "{}", exact.body);
    let seven = h.search_as("per_page=7", &h.root).await;
    assert!(seven.body["links"]["next"].is_string());
    // Without per_page, up to 1,000.
    assert_eq!(h.ids("").await.len(), 8);
    for bad in ["0", "10001", "-1", "ten", "2.5"] {
        let answer = h.search_as(&format!("per_page={bad}"), &h.root).await;
        assert_eq!(answer.bad_params(), ["per_page"], "{bad}");
    }
}

#[tokio::test]
async fn a_subaccount_keys_pages_stay_in_its_subaccount() {
    let h = harness().await;
    let first = format!("/api/v1/events/message?{}&per_page=1", h.window());
    let mut seen = Vec::new();
    let mut uri = first;
    for _ in 0..10 {
        let answer = h.get_with(&uri, Some(&h.sub7)).await;
        seen.extend(answer.ids());
        match answer.body["links"]["next"].as_str() {
            Some(next) => uri = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["e09", "e04", "e03"]);
}
