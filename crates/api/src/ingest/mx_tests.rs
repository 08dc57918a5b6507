//! Ingest's enrichment through the whole router, with a DNS server of the test's own on
//! loopback answering the MX lookups.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::MX;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use serde_json::{json, Value};
use tokio::net::UdpSocket;

use super::{IngestSettings, MxLookupSettings, INGEST_GRANT};
use crate::test_app::TestApp;

const SUBSCRIBER: &str = "test-reader";

/// A DNS server on loopback: `hosted.example` has Microsoft 365's MX hosts, `self.example`
/// its own, `slow.example` Google's, answered after 300 ms; `silent.example` is never
/// answered, every other name does not exist.
struct DnsServer {
    address: std::net::SocketAddr,
    /// Queries received, by name.
    queries: Arc<std::sync::Mutex<Vec<String>>>,
    answered: Arc<AtomicUsize>,
}

impl DnsServer {
    async fn start() -> DnsServer {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let address = socket.local_addr().unwrap();
        let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
        let answered = Arc::new(AtomicUsize::new(0));
        let (seen, count) = (queries.clone(), answered.clone());
        tokio::spawn(async move {
            let mut buffer = vec![0; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                let Some(question) = query.queries.first().cloned() else {
                    continue;
                };
                let name = question.name().to_ascii();
                seen.lock().unwrap().push(name.clone());
                if name == "silent.example." {
                    continue;
                }
                let mut answer = Message::new(
                    query.metadata.id,
                    MessageType::Response,
                    query.metadata.op_code,
                );
                answer.metadata.recursion_desired = query.metadata.recursion_desired;
                answer.metadata.recursion_available = true;
                answer.add_query(question.clone());
                let exchanges: &[(u16, &str)] = match name.as_str() {
                    "hosted.example." => &[
                        (10, "hosted-example.mail.protection.outlook.com."),
                        (20, "backup.hosted.example."),
                    ],
                    "self.example." => &[(10, "mx.self.example.")],
                    "slow.example." => &[(1, "aspmx.l.google.com.")],
                    _ => &[],
                };
                if exchanges.is_empty() {
                    answer.metadata.response_code = ResponseCode::NXDomain;
                }
                if question.query_type() == RecordType::MX {
                    for (preference, host) in exchanges {
                        answer.add_answer(Record::from_rdata(
                            Name::from_ascii(&name).unwrap(),
                            300,
                            RData::MX(MX::new(*preference, Name::from_ascii(host).unwrap())),
                        ));
                    }
                }
                let bytes = answer.to_vec().unwrap();
                let (socket, count) = (socket.clone(), count.clone());
                tokio::spawn(async move {
                    if name == "slow.example." {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    let _ = socket.send_to(&bytes, peer).await;
                    count.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        DnsServer {
            address,
            queries,
            answered,
        }
    }

    fn queries_for(&self, name: &str) -> usize {
        self.queries
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }
}

async fn app(dns: &DnsServer, wait_ms: u64) -> TestApp {
    let limits = IngestSettings {
        mx_lookup: MxLookupSettings {
            nameservers: vec![dns.address],
            wait_ms,
            ..MxLookupSettings::default()
        },
        ..IngestSettings::default()
    };
    let app = TestApp::for_ingest(limits).await;
    app.hose.register(SUBSCRIBER).await.unwrap();
    app
}

fn delivery(id: &str, rcpt_to: &str) -> String {
    json!({
        "type": "delivery", "event_id": id, "message_id": "m1", "rcpt_to": rcpt_to,
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "msg_from": "bounces@Mail.Shop.example",
    })
    .to_string()
}

async fn ingest(app: &TestApp, lines: &[String]) {
    let key = app.key(&[INGEST_GRANT], None);
    let request = Request::post("/api/v1/ingest/events")
        .header("Authorization", key)
        .body(Body::from(lines.join("\n")))
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
}

/// The next `count` published events.
async fn next_events(app: &TestApp, count: usize) -> Vec<Value> {
    let mut subscription = app.hose.subscribe(SUBSCRIBER).await.unwrap();
    let mut events = Vec::new();
    while events.len() < count {
        let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("published")
            .unwrap();
        for message in &delivery.messages {
            events.push(serde_json::from_slice(message).unwrap());
        }
        subscription.ack(&delivery.tag).await.unwrap();
    }
    events
}

#[tokio::test]
async fn a_domain_hosted_at_a_provider_is_named_by_its_mx_hosts() {
    let dns = DnsServer::start().await;
    let app = app(&dns, 5_000).await;
    ingest(
        &app,
        &[
            delivery("1", "a@Hosted.example"),
            delivery("2", "b@hosted.example"),
            delivery("3", "c@self.example"),
            delivery("4", "d@nowhere.example"),
            delivery("5", "e@gmail.com"),
        ],
    )
    .await;
    let events = next_events(&app, 5).await;
    let provider = |i: usize| events[i].get("mailbox_provider").and_then(Value::as_str);
    assert_eq!(provider(0), Some("Office 365"));
    assert_eq!(provider(1), Some("Office 365"));
    assert_eq!(events[0]["mailbox_provider_region"], "Global");
    assert_eq!(provider(2), None, "its own MX hosts name no provider");
    assert_eq!(provider(3), None, "no such domain");
    assert_eq!(provider(4), Some("Gmail"), "known without DNS");
    assert_eq!(events[0]["sending_domain"], "mail.shop.example");
    // One query per domain, none for the domain the table knows.
    assert_eq!(dns.queries_for("hosted.example."), 1);
    assert_eq!(dns.queries_for("nowhere.example."), 1);
    assert_eq!(dns.queries_for("gmail.com."), 0);

    // Cached: the next request asks nothing.
    let asked = dns.queries.lock().unwrap().len();
    ingest(&app, &[delivery("6", "f@hosted.example")]).await;
    let events = next_events(&app, 1).await;
    assert_eq!(events[0]["mailbox_provider"], "Office 365");
    assert_eq!(dns.queries.lock().unwrap().len(), asked);
}

#[tokio::test]
async fn a_lookup_not_answered_in_time_does_not_hold_the_request() {
    let dns = DnsServer::start().await;
    let app = app(&dns, 50).await;
    // Never answered: the request is answered after its wait, the event stored without a
    // provider.
    ingest(&app, &[delivery("1", "a@silent.example")]).await;
    let events = next_events(&app, 1).await;
    assert_eq!(events[0].get("mailbox_provider"), None);
    assert_eq!(dns.queries_for("silent.example."), 1);

    // Answered after the wait: this request goes on without it, and the lookup, left to
    // finish, fills the cache for the next request, which asks nothing.
    ingest(&app, &[delivery("2", "b@slow.example")]).await;
    let events = next_events(&app, 1).await;
    assert_eq!(events[0].get("mailbox_provider"), None);
    for _ in 0..200 {
        if dns.answered.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        dns.answered.load(Ordering::SeqCst),
        1,
        "slow.example answered"
    );
    // The answer reached the resolver; the cache holds it once the lookup task has run.
    for _ in 0..200 {
        ingest(&app, &[delivery("3", "c@slow.example")]).await;
        let events = next_events(&app, 1).await;
        if let Some(provider) = events[0].get("mailbox_provider") {
            assert_eq!(provider, "Gsuite");
            assert_eq!(dns.queries_for("slow.example."), 1);
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the lookup left to finish never filled the cache");
}

#[tokio::test]
async fn lookups_turned_off_ask_nothing() {
    let dns = DnsServer::start().await;
    let limits = IngestSettings {
        mx_lookup: MxLookupSettings {
            enabled: false,
            nameservers: vec![dns.address],
            ..MxLookupSettings::default()
        },
        ..IngestSettings::default()
    };
    let app = TestApp::for_ingest(limits).await;
    app.hose.register(SUBSCRIBER).await.unwrap();
    ingest(&app, &[delivery("1", "a@hosted.example")]).await;
    let events = next_events(&app, 1).await;
    assert_eq!(events[0].get("mailbox_provider"), None);
    assert_eq!(dns.queries.lock().unwrap().len(), 0);
}
