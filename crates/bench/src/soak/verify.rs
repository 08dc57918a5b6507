//! The end of a soak: wait for the subscribers to drain, then prove from the outside (the
//! public APIs and the receiver) that every acknowledged event was applied, and once where it
//! must be once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use super::expect::{metric_totals, suppression_entries, Entry, Facts, METRICS};
use super::faults::Endpoint;
use super::ledger::Ledger;
use super::load::SendReport;
use super::sampling::{Deliveries, LagSource, Sample};
use crate::amqp::queue_depths;
use crate::server::{metrics_page, BENCH_KEY};
use crate::webhooks::receiver::Receiver;

/// How often the drain conditions are looked at.
const POLL: Duration = Duration::from_secs(1);
/// How often the checks are repeated while one fails (stores commit in their own time).
const RECHECK: Duration = Duration::from_secs(5);
/// Largest page of the Events and Suppressions APIs.
const PER_PAGE: usize = 10_000;
/// Pages read at most in one listing (a bound on the loop, far above any run's need).
const MAX_PAGES: usize = 100_000;

/// What the waiting for the drain looks at.
pub struct Drain<'a> {
    /// Where the server is.
    pub endpoint: watch::Receiver<Option<Endpoint>>,
    /// Where lags are read.
    pub lag_source: &'a LagSource,
    /// The run's queue prefix (RabbitMQ).
    pub prefix: &'a str,
    /// The sender's record.
    pub ledger: &'a Ledger,
    /// What reached the webhook.
    pub deliveries: &'a Deliveries,
    /// The receiver.
    pub receiver: &'a Receiver,
    /// When to give up.
    pub deadline: Instant,
}

impl Drain<'_> {
    /// Until every subscriber's lag is zero (on RabbitMQ: every queue of the run empty,
    /// unacknowledged messages included) and every acknowledged event reached the receiver;
    /// false if the deadline came first.
    pub async fn wait(&self) -> bool {
        let client = reqwest::Client::new();
        loop {
            self.deliveries.absorb(self.receiver, self.ledger);
            let undelivered = self
                .ledger
                .with_acked(|acked| self.deliveries.missing(acked));
            if undelivered == 0 && self.lags_are_zero(&client).await {
                return true;
            }
            if Instant::now() >= self.deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn lags_are_zero(&self, client: &reqwest::Client) -> bool {
        let Some(endpoint) = self.endpoint.borrow().clone() else {
            return false;
        };
        let Ok(page) = metrics_page(client, &endpoint.base).await else {
            return false;
        };
        let lags = self.lag_source.lags(&page);
        if lags.is_empty() || lags.values().any(|lag| *lag != 0.0) {
            return false;
        }
        match self.lag_source {
            LagSource::Embedded => true,
            LagSource::Amqp { .. } => {
                let prefix = self.prefix.to_owned();
                let depths = tokio::task::spawn_blocking(move || queue_depths(&prefix)).await;
                matches!(depths, Ok(Ok(queues)) if queues.iter().all(|(_, n)| *n == 0))
            }
        }
    }
}

/// The message events check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventsCheck {
    /// Acknowledged events of the types the Events API lists.
    pub expected: u64,
    /// Events listed, repeats included.
    pub listed: u64,
    /// Expected events not listed.
    pub missing: u64,
    /// Events listed more than once (each counted once).
    pub duplicated: u64,
    /// Listed events that were never acknowledged (those of requests given up on aside).
    pub unexpected: u64,
}

/// One metric's check.
#[derive(Clone, Debug, Serialize)]
pub struct MetricCheck {
    /// The metric.
    pub metric: &'static str,
    /// What the acknowledged events make.
    pub expected: u64,
    /// What the Metrics API says.
    pub actual: u64,
}

/// The webhook check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WebhookCheck {
    /// Acknowledged events (the webhook wants every type).
    pub expected: u64,
    /// Of those, the ones that arrived in a POST answered 200.
    pub delivered: u64,
    /// Deliveries beyond the first (at least once: repeats are allowed, and reported).
    pub repeats: u64,
    /// Arrivals of events never acknowledged (those of requests given up on aside).
    pub unexpected: u64,
}

/// The suppressions check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SuppressionsCheck {
    /// Entries the acknowledged events call for.
    pub expected: u64,
    /// Entries listed.
    pub listed: u64,
    /// Expected entries not listed.
    pub missing: u64,
    /// Listed entries no acknowledged event calls for.
    pub unexpected: u64,
}

/// The RSS check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RssCheck {
    /// Median RSS over the first quarter of the run, in bytes.
    pub first_quarter_median: u64,
    /// Median RSS over the last quarter of the run, in bytes.
    pub last_quarter_median: u64,
    /// The highest RSS sampled, in bytes.
    pub peak: u64,
}

/// Every check's outcome, and what violates the run's promises.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    /// Message events.
    pub message_events: EventsCheck,
    /// Metrics API totals.
    pub metrics: Vec<MetricCheck>,
    /// Webhook deliveries.
    pub webhook: WebhookCheck,
    /// Suppressions.
    pub suppressions: SuppressionsCheck,
    /// Server memory.
    pub rss: Option<RssCheck>,
    /// Each broken promise, in words.
    pub violations: Vec<String>,
}

/// Runs the checks against the server at `base` until they pass or `deadline` comes (the
/// stores commit in their own time); returns the last outcome.
pub async fn settle(
    base: &str,
    ledger: &Ledger,
    deliveries: &Deliveries,
    receiver: &Receiver,
    deadline: Instant,
) -> anyhow::Result<Verdict> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    loop {
        deliveries.absorb(receiver, ledger);
        let verdict = check(&client, base, ledger, deliveries).await?;
        if verdict.violations.is_empty() || Instant::now() >= deadline {
            return Ok(verdict);
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// One round of the checks.
async fn check(
    client: &reqwest::Client,
    base: &str,
    ledger: &Ledger,
    deliveries: &Deliveries,
) -> anyhow::Result<Verdict> {
    let listed = message_events(client, base).await?;
    let totals = metrics(client, base).await?;
    let entries = suppressions(client, base).await?;
    let abandoned = ledger.abandoned();
    let mut verdict = Verdict::default();
    ledger.with_acked(|acked| {
        verdict.message_events = check_events(acked, &listed, |id| abandoned.contains(&id));
        verdict.metrics = metric_totals(acked)
            .into_iter()
            .map(|(metric, expected)| MetricCheck {
                metric,
                expected,
                actual: totals.get(metric).copied().unwrap_or(0),
            })
            .collect();
        let unmatched = deliveries.unmatched();
        verdict.webhook = WebhookCheck {
            expected: acked.len() as u64,
            delivered: acked.len() as u64 - deliveries.missing(acked),
            repeats: deliveries.repeats(),
            unexpected: unmatched
                .iter()
                .filter(|id| !abandoned.contains(*id))
                .count() as u64,
        };
        let expected = suppression_entries(acked);
        verdict.suppressions = SuppressionsCheck {
            expected: expected.len() as u64,
            listed: entries.len() as u64,
            missing: expected.difference(&entries).count() as u64,
            unexpected: entries.difference(&expected).count() as u64,
        };
    });
    verdict.violations = violations(&verdict);
    Ok(verdict)
}

/// The message-events check of `listed` (times each id was listed) against `acked`.
fn check_events(
    acked: &[Facts],
    listed: &HashMap<u64, u32>,
    abandoned: impl Fn(u64) -> bool,
) -> EventsCheck {
    let expected: Vec<u64> = acked
        .iter()
        .filter(|f| f.is_message_event())
        .map(|f| f.id)
        .collect();
    let wanted: std::collections::HashSet<u64> = expected.iter().copied().collect();
    EventsCheck {
        expected: expected.len() as u64,
        listed: listed.values().map(|n| u64::from(*n)).sum(),
        missing: expected
            .iter()
            .filter(|id| !listed.contains_key(*id))
            .count() as u64,
        duplicated: listed.values().filter(|n| **n > 1).count() as u64,
        unexpected: listed
            .keys()
            .filter(|id| !wanted.contains(*id) && !abandoned(**id))
            .count() as u64,
    }
}

/// The broken promises of `verdict`'s checks.
fn violations(verdict: &Verdict) -> Vec<String> {
    let mut violations = Vec::new();
    let events = &verdict.message_events;
    if events.missing > 0 || events.duplicated > 0 || events.unexpected > 0 {
        violations.push(format!(
            "message events: {} acknowledged events missing, {} listed more than once, {} never acknowledged (of {} expected)",
            events.missing, events.duplicated, events.unexpected, events.expected
        ));
    }
    for metric in &verdict.metrics {
        if metric.expected != metric.actual {
            violations.push(format!(
                "metrics: {} is {}, the acknowledged events make {}",
                metric.metric, metric.actual, metric.expected
            ));
        }
    }
    let webhook = &verdict.webhook;
    if webhook.delivered < webhook.expected || webhook.unexpected > 0 {
        violations.push(format!(
            "webhook: {} of {} acknowledged events never arrived; {} arrivals of events never acknowledged",
            webhook.expected - webhook.delivered,
            webhook.expected,
            webhook.unexpected
        ));
    }
    let entries = &verdict.suppressions;
    if entries.missing > 0 || entries.unexpected > 0 {
        violations.push(format!(
            "suppressions: {} of {} expected entries missing, {} entries no acknowledged event calls for",
            entries.missing, entries.expected, entries.unexpected
        ));
    }
    violations
}

/// Adds the RSS check over the samples of the sending phase (`duration`): the median of the
/// last quarter may be at most `max_growth` times that of the first (0: not checked).
pub fn rss(verdict: &mut Verdict, samples: &[Sample], duration: Duration, max_growth: f64) {
    let end = duration.as_secs_f64();
    let median = |from: f64, to: f64| {
        let mut values: Vec<u64> = samples
            .iter()
            .filter(|s| s.t >= from && s.t <= to)
            .filter_map(|s| s.rss)
            .collect();
        values.sort_unstable();
        values.get(values.len() / 2).copied()
    };
    let (Some(first), Some(last)) = (median(0.0, end / 4.0), median(end * 0.75, end)) else {
        return;
    };
    let peak = samples.iter().filter_map(|s| s.rss).max().unwrap_or(0);
    verdict.rss = Some(RssCheck {
        first_quarter_median: first,
        last_quarter_median: last,
        peak,
    });
    if max_growth > 0.0 && last as f64 > first as f64 * max_growth {
        verdict.violations.push(format!(
            "RSS grew: median {} MB in the last quarter against {} MB in the first (more than {max_growth}×)",
            last / 1_000_000,
            first / 1_000_000
        ));
    }
}

/// Adds the sender's failures: requests refused for good, or never answered 200.
pub fn sender(verdict: &mut Verdict, sent: &SendReport) {
    if !sent.refused.is_empty() {
        verdict.violations.push(format!(
            "ingest refused {} requests: {}",
            sent.refused.len(),
            sent.refused.first().map_or("", String::as_str)
        ));
    }
    if sent.abandoned_requests > 0 {
        verdict.violations.push(format!(
            "{} requests ({} events) were never answered 200",
            sent.abandoned_requests, sent.abandoned_events
        ));
    }
}

/// GETs `path_and_query` on `base` with the bench key; the JSON answer, which must be a 200.
async fn get_json(
    client: &reqwest::Client,
    base: &str,
    path_and_query: &str,
) -> anyhow::Result<Value> {
    let response = client
        .get(format!("{base}{path_and_query}"))
        .header("Authorization", BENCH_KEY)
        .send()
        .await
        .with_context(|| format!("GET {path_and_query}"))?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(
        status == 200,
        "GET {path_and_query} answered {status}: {}",
        text.chars().take(500).collect::<String>()
    );
    serde_json::from_str(&text).with_context(|| format!("GET {path_and_query}: not JSON"))
}

/// Every message event of the last day and the next hour: how often each `event_id` is listed.
async fn message_events(client: &reqwest::Client, base: &str) -> anyhow::Result<HashMap<u64, u32>> {
    let now = chrono::Utc::now();
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut next = Some(format!(
        "/api/v1/events/message?from={}&to={}&per_page={PER_PAGE}&cursor=initial",
        time(now - chrono::TimeDelta::days(1)),
        time(now + chrono::TimeDelta::hours(1))
    ));
    let mut listed: HashMap<u64, u32> = HashMap::new();
    for _ in 0..MAX_PAGES {
        let Some(path) = next.take() else {
            return Ok(listed);
        };
        let page = get_json(client, base, &path).await?;
        for event in page["results"].as_array().into_iter().flatten() {
            // An id that is no number is no event of the run: it counts as unexpected.
            let id = event["event_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or(u64::MAX);
            *listed.entry(id).or_default() += 1;
        }
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    anyhow::bail!("the Events API kept giving a next page")
}

/// The checked metrics' totals of the last day.
async fn metrics(client: &reqwest::Client, base: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let from = (chrono::Utc::now() - chrono::TimeDelta::days(1)).format("%Y-%m-%dT%H:%M");
    let path = format!(
        "/api/v1/metrics/deliverability?from={from}&metrics={}",
        METRICS.join(",")
    );
    let answer = get_json(client, base, &path).await?;
    let row = &answer["results"][0];
    Ok(METRICS
        .iter()
        .map(|m| (m.to_string(), row[*m].as_u64().unwrap_or(0)))
        .collect())
}

/// Every suppression entry, every list.
async fn suppressions(client: &reqwest::Client, base: &str) -> anyhow::Result<BTreeSet<Entry>> {
    let mut next = Some(format!(
        "/api/v1/suppression-list?per_page={PER_PAGE}&cursor=initial"
    ));
    let mut entries = BTreeSet::new();
    for _ in 0..MAX_PAGES {
        let Some(path) = next.take() else {
            return Ok(entries);
        };
        let page = get_json(client, base, &path).await?;
        for entry in page["results"].as_array().into_iter().flatten() {
            let kind = match entry["type"].as_str() {
                Some("transactional") => "transactional",
                Some("non_transactional") => "non_transactional",
                other => anyhow::bail!("a suppression of type {other:?}"),
            };
            let recipient = entry["recipient"].as_str().unwrap_or_default();
            let account = entry["subaccount_id"].as_u64().unwrap_or(0);
            entries.insert((account, recipient.to_ascii_lowercase(), kind));
        }
        next = page["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|link| link["rel"] == "next")
            .and_then(|link| link["href"].as_str())
            .map(str::to_owned);
    }
    anyhow::bail!("the Suppressions API kept giving a next page")
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_model::EventType;

    fn facts(id: u64, event_type: EventType) -> Facts {
        Facts {
            id,
            event_type,
            admin_bounce: false,
            suppressions: Vec::new(),
        }
    }

    #[test]
    fn events_missing_listed_twice_or_never_sent_are_told_apart() {
        let acked = [
            facts(1, EventType::Delivery),
            facts(2, EventType::Delivery),
            facts(3, EventType::Open),
            facts(4, EventType::RelayInjection),
        ];
        let listed = HashMap::from([(1, 1), (3, 2), (9, 1), (10, 1)]);
        let check = check_events(&acked, &listed, |id| id == 10);
        assert_eq!(check.expected, 3, "relay events are not message events");
        assert_eq!(check.listed, 5);
        assert_eq!(check.missing, 1);
        assert_eq!(check.duplicated, 1);
        assert_eq!(
            check.unexpected, 1,
            "10 was given up on, so it may be there"
        );
        let verdict = Verdict {
            message_events: check,
            ..Verdict::default()
        };
        assert_eq!(violations(&verdict).len(), 1);
    }

    fn sample(t: f64, rss: u64) -> Sample {
        Sample {
            t,
            acked: 0,
            ingest_rate: 0.0,
            lags: BTreeMap::new(),
            delivered: 0,
            latency_p50_ms: None,
            latency_p99_ms: None,
            rss: Some(rss),
            memory: None,
        }
    }

    #[test]
    fn rss_compares_the_medians_of_the_first_and_last_quarters() {
        let samples: Vec<Sample> = (0..=100)
            .map(|t| sample(f64::from(t), if t > 75 { 300 } else { 100 }))
            .chain([sample(150.0, 10_000)])
            .collect();
        let duration = Duration::from_secs(100);
        let mut verdict = Verdict::default();
        rss(&mut verdict, &samples, duration, 0.0);
        let check = verdict.rss.clone().unwrap();
        assert_eq!(
            (
                check.first_quarter_median,
                check.last_quarter_median,
                check.peak
            ),
            (100, 300, 10_000)
        );
        assert!(verdict.violations.is_empty(), "not checked at 0");
        rss(&mut verdict, &samples, duration, 2.0);
        assert_eq!(verdict.violations.len(), 1);
    }
}
