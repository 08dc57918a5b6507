//! What an acknowledged event must produce, read from the event as sent and worked out from
//! the documented rules (SparkPost's metric definitions; the suppression rules of
//! `crates/state/src/suppressions.rs`), not from the subscribers' code.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use eventhose_analytics::SEARCHABLE_EVENT_TYPES;
use eventhose_model::{BounceCategory, Event, EventType};

/// The Metrics API metrics the soak checks: each is a plain count of event types.
pub const METRICS: [&str; 14] = [
    "count_injected",
    "count_delivered",
    "count_bounce",
    "count_inband_bounce",
    "count_outofband_bounce",
    "count_admin_bounce",
    "count_policy_rejection",
    "count_generation_rejection",
    "count_generation_failed",
    "count_delayed",
    "count_rendered",
    "count_clicked",
    "count_spam_complaint",
    "count_unsubscribe",
];

/// An expected suppression entry: (account, recipient in lower case, type).
pub type Entry = (u64, String, &'static str);

/// What the checks need of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// `event_id` (the simulator's are decimal numbers).
    pub id: u64,
    /// `type`.
    pub event_type: EventType,
    /// A bounce (in-band or out-of-band) in the Admin category.
    pub admin_bounce: bool,
    /// The suppression entries it calls for.
    pub suppressions: Vec<Entry>,
}

impl Facts {
    /// Reads one NDJSON line as ingest would.
    pub fn of_line(line: &[u8]) -> anyhow::Result<Self> {
        let event = Event::parse_ingest(line).context("a simulated event does not parse")?;
        let id = event
            .event_id()
            .parse()
            .with_context(|| format!("event_id {:?} is not a number", event.event_id()))?;
        let event_type = event.event_type();
        let category = event.bounce_class().map(|class| class.category);
        let bounce = matches!(event_type, EventType::Bounce | EventType::OutOfBand);
        Ok(Self {
            id,
            event_type,
            admin_bounce: bounce && category == Some(BounceCategory::Admin),
            suppressions: suppressions(&event, bounce && category == Some(BounceCategory::Hard)),
        })
    }

    /// Whether the Events API lists it.
    pub fn is_message_event(&self) -> bool {
        SEARCHABLE_EVENT_TYPES.contains(&self.event_type)
    }

    /// The checked metrics it adds one to.
    pub fn metrics(&self) -> Vec<&'static str> {
        use EventType as T;
        match self.event_type {
            T::Injection => vec!["count_injected"],
            T::Delivery => vec!["count_delivered"],
            T::Bounce | T::OutOfBand if self.admin_bounce => vec!["count_admin_bounce"],
            T::Bounce => vec!["count_bounce", "count_inband_bounce"],
            T::OutOfBand => vec!["count_bounce", "count_outofband_bounce"],
            // SparkPost: the admin bounces "also include Rejected".
            T::PolicyRejection => vec!["count_policy_rejection", "count_admin_bounce"],
            T::GenerationRejection => vec!["count_generation_rejection", "count_admin_bounce"],
            T::GenerationFailure => vec!["count_generation_failed", "count_admin_bounce"],
            T::Delay => vec!["count_delayed"],
            T::Open | T::AmpOpen => vec!["count_rendered"],
            T::Click | T::AmpClick => vec!["count_clicked"],
            T::SpamComplaint => vec!["count_spam_complaint"],
            T::ListUnsubscribe | T::LinkUnsubscribe => vec!["count_unsubscribe"],
            _ => Vec::new(),
        }
    }
}

/// The entries `event` calls for: hard bounces by their `transactional` flag (absent: both
/// types), spam complaints and unsubscribes non-transactional; in the list of the event's
/// subaccount (0: primary), for `raw_rcpt_to`, else `rcpt_to`, in lower case.
fn suppressions(event: &Event, hard_bounce: bool) -> Vec<Entry> {
    let types: &[&'static str] = match event.event_type() {
        _ if hard_bounce => match event.get_u64("transactional") {
            Some(0) => &["non_transactional"],
            Some(_) => &["transactional"],
            None => &["transactional", "non_transactional"],
        },
        EventType::SpamComplaint | EventType::ListUnsubscribe | EventType::LinkUnsubscribe => {
            &["non_transactional"]
        }
        _ => &[],
    };
    let recipient = event
        .get_str("raw_rcpt_to")
        .filter(|r| !r.is_empty())
        .or_else(|| event.rcpt_to());
    let (Some(recipient), false) = (recipient, types.is_empty()) else {
        return Vec::new();
    };
    let account = event.subaccount_id().unwrap_or(0);
    types
        .iter()
        .map(|t| (account, recipient.to_ascii_lowercase(), *t))
        .collect()
}

/// The checked metrics' totals over `events`.
pub fn metric_totals<'a>(
    events: impl IntoIterator<Item = &'a Facts>,
) -> BTreeMap<&'static str, u64> {
    let mut totals: BTreeMap<&'static str, u64> = METRICS.iter().map(|m| (*m, 0)).collect();
    for facts in events {
        for metric in facts.metrics() {
            *totals.entry(metric).or_default() += 1;
        }
    }
    totals
}

/// Every suppression entry `events` call for.
pub fn suppression_entries<'a>(events: impl IntoIterator<Item = &'a Facts>) -> BTreeSet<Entry> {
    events
        .into_iter()
        .flat_map(|facts| facts.suppressions.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(line: &str) -> Facts {
        let ts = chrono::Utc::now().timestamp() - 60;
        let line = line.replace("TS", &ts.to_string());
        Facts::of_line(line.as_bytes()).unwrap()
    }

    #[test]
    fn hard_bounces_suppress_by_their_transactional_flag() {
        let both = facts(
            r#"{"type":"bounce","event_id":"1","timestamp":"TS","message_id":"m","rcpt_to":"A@Example.com","bounce_class":"10"}"#,
        );
        assert_eq!(
            both.suppressions,
            [
                (0, "a@example.com".to_owned(), "transactional"),
                (0, "a@example.com".to_owned(), "non_transactional"),
            ]
        );
        assert_eq!(both.metrics(), ["count_bounce", "count_inband_bounce"]);
        let one = facts(
            r#"{"type":"out_of_band","event_id":"2","timestamp":"TS","message_id":"m","rcpt_to":"b@example.com","raw_rcpt_to":"B@example.com","bounce_class":"30","transactional":"0","subaccount_id":"7"}"#,
        );
        assert_eq!(
            one.suppressions,
            [(7, "b@example.com".to_owned(), "non_transactional")]
        );
        assert_eq!(one.metrics(), ["count_bounce", "count_outofband_bounce"]);
    }

    #[test]
    fn soft_and_admin_bounces_suppress_nothing_and_admin_ones_count_apart() {
        let soft = facts(
            r#"{"type":"bounce","event_id":"3","timestamp":"TS","message_id":"m","rcpt_to":"c@example.com","bounce_class":"21"}"#,
        );
        assert!(soft.suppressions.is_empty());
        let admin = facts(
            r#"{"type":"bounce","event_id":"4","timestamp":"TS","message_id":"m","rcpt_to":"d@example.com","bounce_class":"25"}"#,
        );
        assert!(admin.admin_bounce && admin.suppressions.is_empty());
        assert_eq!(admin.metrics(), ["count_admin_bounce"]);
    }

    #[test]
    fn complaints_and_unsubscribes_suppress_non_transactional_mail() {
        for kind in ["spam_complaint", "list_unsubscribe", "link_unsubscribe"] {
            let line = format!(
                r#"{{"type":"{kind}","event_id":"5","timestamp":"TS","message_id":"m","rcpt_to":"e@example.com"}}"#
            );
            assert_eq!(
                facts(&line).suppressions,
                [(0, "e@example.com".to_owned(), "non_transactional")],
                "{kind}"
            );
        }
    }

    #[test]
    fn totals_count_each_event_in_its_metrics() {
        let events = [
            facts(
                r#"{"type":"delivery","event_id":"6","timestamp":"TS","message_id":"m","rcpt_to":"f@example.com"}"#,
            ),
            facts(
                r#"{"type":"policy_rejection","event_id":"7","timestamp":"TS","message_id":"m","rcpt_to":"f@example.com"}"#,
            ),
            facts(
                r#"{"type":"amp_open","event_id":"8","timestamp":"TS","message_id":"m","rcpt_to":"f@example.com"}"#,
            ),
        ];
        let totals = metric_totals(&events);
        assert_eq!(totals["count_delivered"], 1);
        assert_eq!(totals["count_policy_rejection"], 1);
        assert_eq!(totals["count_admin_bounce"], 1);
        assert_eq!(totals["count_rendered"], 1);
        assert_eq!(totals["count_bounce"], 0);
        assert_eq!(totals.len(), METRICS.len());
        assert!(events.iter().all(Facts::is_message_event));
    }
}
