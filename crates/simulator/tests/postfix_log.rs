//! The generated Postfix log read by the Postfix source: it gives exactly the events the
//! generator says it holds (so benchmarks and long tests can rely on its summary).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eventhose_model::{classify_bounce, EnhancedStatus, SmtpReply};
use eventhose_simulator::postfix_log::{write_postfix_log, PostfixLogConfig};
use eventhose_sources::postfix::{PostfixConfig, PostfixSource};
use eventhose_sources::syslog::{LocalClock, Zone};

fn classify(enhanced: Option<&str>, code: Option<u16>, text: &str) -> u16 {
    classify_bounce(&SmtpReply::new(
        code,
        enhanced.and_then(EnhancedStatus::parse),
        text,
    ))
}

#[test]
fn the_source_reports_what_the_summary_says() {
    let start: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
    let config = PostfixLogConfig {
        seed: 11,
        start,
        messages: 20_000,
        messages_per_second: 50.0,
    };
    let mut log = Vec::new();
    let summary = write_postfix_log(&config, &mut log).unwrap();
    let text = String::from_utf8(log).unwrap();

    let clock = LocalClock::new(Zone::utc(), summary.end.unwrap());
    let mut source = PostfixSource::new(PostfixConfig::new(classify), clock);
    let mut events = Vec::new();
    for line in text.lines() {
        source.push_line(line, &mut events).unwrap();
    }
    source.finish(&mut events);

    let mut by_type = BTreeMap::new();
    for event in &events {
        *by_type
            .entry(event["type"].as_str().unwrap().to_owned())
            .or_insert(0_u64) += 1;
    }
    let count = |t: &str| by_type.get(t).copied().unwrap_or(0);
    assert_eq!(count("injection"), summary.injections, "{by_type:?}");
    assert_eq!(count("delivery"), summary.deliveries, "{by_type:?}");
    assert_eq!(count("bounce"), summary.bounces, "{by_type:?}");
    assert_eq!(count("delay"), summary.delays, "{by_type:?}");
    assert_eq!(count("policy_rejection"), summary.rejections, "{by_type:?}");
    assert_eq!(events.len() as u64, summary.events());
    assert_eq!(source.stats().lines, summary.lines);
    assert_eq!(source.stats().open_entries, 0);
}
