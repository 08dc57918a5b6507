//! The suppressions subscriber: adds the recipients that must not be mailed again to the
//! suppression list of their account, as SparkPost does automatically.
//!
//! | event | when | source | type |
//! |---|---|---|---|
//! | `bounce`, `out_of_band` | `bounce_class` in the Hard category (10 Invalid Recipient, 30 Generic Bounce: No RCPT, 90 Unsubscribe) | `Bounce Rule`, description = `reason` | from `transactional`: non-zero → transactional, 0 → non_transactional, absent → both (an invalid address is invalid for every kind of mail) |
//! | `spam_complaint` | always | `Spam Complaint` | non_transactional |
//! | `list_unsubscribe` | always | `List Unsubscribe` | non_transactional |
//! | `link_unsubscribe` | always | `Unsubscribe Link` | non_transactional |
//!
//! The recipient is `raw_rcpt_to` (the address as the MTA reported it), else `rcpt_to`; events
//! without a valid address (e.g. only `rcpt_hash`) add nothing. The entry goes to the list of
//! `subaccount_id` (absent or 0 = the primary account), account-level (no list id).
//!
//! Entries collected since the last checkpoint are written in one transaction at the
//! checkpoint (or earlier, when many are waiting), with the identities of the events they
//! came from: an event seen again within the deduplication window (a retry, a redelivery)
//! is ignored, so it cannot bring back an entry deleted since. Writing is idempotent beyond
//! the window too: an automatic entry replaces a stored one only when its event happened
//! later, and it never replaces a `Manually Added` or `Compliance` entry.

use std::sync::Arc;

use crate::{already_durable, applied, Commit, Processor, SubscriberError};
use eventhose_hose::Delivery;
use eventhose_model::{
    event_identity, unix_minute, AppliedIds, BounceCategory, DedupWindow, Event, EventType,
};
use eventhose_state::suppressions::{recipient_key, truncate_description};
use eventhose_state::{
    AppliedBatch, AppliedEventStore, SuppressionSource, SuppressionStore, SuppressionType,
    SuppressionUpsert, UpsertOutcome,
};

/// The subscriber name the suppressions writer registers on the hose.
pub const SUPPRESSIONS_SUBSCRIBER: &str = "suppressions";

/// Entries waiting for a checkpoint beyond which they are written at once (memory bound).
const MAX_PENDING: usize = 5_000;

/// How many automatic writes had each outcome since the writer started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// New entries.
    pub created: u64,
    /// Entries replaced by a later event.
    pub updated: u64,
    /// Entries that already reported this event or a later one (redeliveries).
    pub unchanged: u64,
    /// Entries left alone because a person or compliance put them there.
    pub kept: u64,
}

impl WriteCounts {
    fn add(&mut self, outcome: UpsertOutcome) {
        let (counter, label) = match outcome {
            UpsertOutcome::Created => (&mut self.created, "created"),
            UpsertOutcome::Updated => (&mut self.updated, "updated"),
            UpsertOutcome::Unchanged => (&mut self.unchanged, "unchanged"),
            UpsertOutcome::Kept => (&mut self.kept, "kept"),
        };
        *counter += 1;
        metrics::counter!("eventhose_suppressions_writes_total", "outcome" => label).increment(1);
    }
}

/// Writes automatic suppressions from the events it reads.
pub struct SuppressionWriter {
    store: Arc<dyn SuppressionStore>,
    pending: Vec<SuppressionUpsert>,
    /// The events that added entries within the deduplication window.
    applied: AppliedIds,
    counts: WriteCounts,
}

impl SuppressionWriter {
    /// A writer into `store`, ignoring repeats of the events applied within `dedup_window`
    /// (whose identities `applied_store` keeps; zero: none ignored).
    pub async fn open(
        store: Arc<dyn SuppressionStore>,
        applied_store: Arc<dyn AppliedEventStore>,
        dedup_window: DedupWindow,
    ) -> Result<Self, SubscriberError> {
        let applied = applied::load(applied_store, SUPPRESSIONS_SUBSCRIBER, dedup_window).await?;
        Ok(Self {
            store,
            pending: Vec::new(),
            applied,
            counts: WriteCounts::default(),
        })
    }

    /// What the writes so far did.
    pub fn counts(&self) -> WriteCounts {
        self.counts
    }

    /// Writes the pending entries, and the events they came from, in one transaction.
    async fn write_pending(&mut self) -> Result<(), SubscriberError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let entries = std::mem::take(&mut self.pending);
        let (ids, forget_before) =
            applied::take_for_commit(SUPPRESSIONS_SUBSCRIBER, &mut self.applied);
        let store = self.store.clone();
        let report = crate::blocking(move || {
            let applied = AppliedBatch {
                subscriber: SUPPRESSIONS_SUBSCRIBER,
                ids: &ids,
                forget_before,
            };
            store.upsert_from_events(entries, applied)
        })
        .await?;
        for outcome in report.outcomes {
            self.counts.add(outcome);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Processor for SuppressionWriter {
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
        for (index, message) in delivery.messages.iter().enumerate() {
            if !may_suppress(message) {
                continue;
            }
            let event = Event::from_stored(message).map_err(|e| SubscriberError::BadMessage {
                index,
                reason: e.to_string(),
            })?;
            let entries = suppressions_for(&event);
            let identity = event_identity(event.subaccount_id().unwrap_or(0), event.event_id());
            if entries.is_empty() || !self.applied.insert(identity, unix_minute()) {
                continue;
            }
            self.pending.extend(entries);
        }
        if self.pending.len() >= MAX_PENDING {
            self.write_pending().await?;
        }
        Ok(())
    }

    async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
        self.write_pending().await?;
        Ok(already_durable())
    }
}

/// The event types that can add entries.
const SUPPRESSING_TYPES: [EventType; 5] = [
    EventType::Bounce,
    EventType::OutOfBand,
    EventType::SpamComplaint,
    EventType::ListUnsubscribe,
    EventType::LinkUnsubscribe,
];

/// False when the stored event's leading `type` shows it cannot add an entry, so that the
/// other events (nearly all of them) are not parsed.
fn may_suppress(message: &[u8]) -> bool {
    let leading = message
        .strip_prefix(br#"{"type":""#)
        .and_then(|rest| rest.iter().position(|&b| b == b'"').map(|end| &rest[..end]));
    match leading {
        Some(name) => SUPPRESSING_TYPES
            .iter()
            .any(|t| t.as_str().as_bytes() == name),
        // Not in the usual storage form: let the full parse decide.
        None => true,
    }
}

/// The entries `event` adds to its account's list (none for most events).
pub fn suppressions_for(event: &Event) -> Vec<SuppressionUpsert> {
    let (source, types, description) = match event.event_type() {
        EventType::Bounce | EventType::OutOfBand => {
            let Some(class) = event
                .bounce_class()
                .filter(|class| class.category == BounceCategory::Hard)
            else {
                return Vec::new();
            };
            let description = event
                .get_str("reason")
                .or_else(|| event.get_str("raw_reason"))
                .map(String::from)
                .unwrap_or_else(|| format!("Hard bounce: {} ({})", class.name, class.code));
            (
                SuppressionSource::BounceRule,
                bounce_types(event),
                description,
            )
        }
        EventType::SpamComplaint => {
            let description = match event.get_str("fbtype") {
                Some(kind) => format!("Spam complaint ({kind})"),
                None => "Spam complaint".to_string(),
            };
            (
                SuppressionSource::SpamComplaint,
                &[SuppressionType::NonTransactional][..],
                description,
            )
        }
        EventType::ListUnsubscribe => (
            SuppressionSource::ListUnsubscribe,
            &[SuppressionType::NonTransactional][..],
            "Unsubscribed through the List-Unsubscribe header".to_string(),
        ),
        EventType::LinkUnsubscribe => (
            SuppressionSource::UnsubscribeLink,
            &[SuppressionType::NonTransactional][..],
            "Unsubscribed through an unsubscribe link".to_string(),
        ),
        _ => return Vec::new(),
    };
    let Some(recipient) = recipient_of(event) else {
        tracing::debug!(
            event_id = event.event_id(),
            "no valid recipient to suppress"
        );
        metrics::counter!("eventhose_suppressions_skipped_events_total").increment(1);
        return Vec::new();
    };
    let description = truncate_description(&description).to_string();
    let subaccount = event.subaccount_id().filter(|id| *id != 0);
    types
        .iter()
        .map(|suppression_type| SuppressionUpsert {
            recipient: recipient.to_string(),
            suppression_type: *suppression_type,
            source,
            description: Some(description.clone()),
            list_id: None,
            subaccount,
            occurred_at: event.timestamp(),
        })
        .collect()
}

/// The address to suppress: `raw_rcpt_to` as reported, else `rcpt_to`, if valid.
fn recipient_of(event: &Event) -> Option<&str> {
    ["raw_rcpt_to", "rcpt_to"]
        .into_iter()
        .filter_map(|field| event.get_str(field))
        .find(|address| recipient_key(address).is_ok())
}

/// The types a hard bounce suppresses, from the event's `transactional` flag.
fn bounce_types(event: &Event) -> &'static [SuppressionType] {
    const TRANSACTIONAL: &[SuppressionType] = &[SuppressionType::Transactional];
    const NON_TRANSACTIONAL: &[SuppressionType] = &[SuppressionType::NonTransactional];
    // The model normalises `transactional` to an integer string.
    match event.get_u64("transactional") {
        Some(0) => NON_TRANSACTIONAL,
        Some(_) => TRANSACTIONAL,
        None => &SuppressionType::ALL,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use eventhose_hose::embedded::EmbeddedHose;
    use eventhose_hose::{DeliveryTag, Hose, Message};
    use eventhose_state::{
        ListScope, ListSelector, SqliteState, Suppression, SuppressionDeletion, WhenKept,
    };
    use tokio::sync::watch;

    use super::*;

    /// An event built and stored the way ingest does it.
    fn stored(line: &str) -> Message {
        let event = Event::parse_ingest(line.as_bytes()).unwrap();
        Message::from(event.into_json_bytes())
    }

    fn bounce(id: &str, rcpt: &str, class: &str, extra: &str) -> String {
        format!(
            r#"{{"type":"bounce","event_id":"{id}","timestamp":"1700000000","message_id":"m-{id}","rcpt_to":"{rcpt}","bounce_class":"{class}","reason":"550 5.1.1 {rcpt}: unknown"{extra}}}"#
        )
    }

    fn event(event_type: &str, id: &str, rcpt: &str, extra: &str) -> String {
        format!(
            r#"{{"type":"{event_type}","event_id":"{id}","timestamp":"1700000100","message_id":"m-{id}","rcpt_to":"{rcpt}"{extra}}}"#
        )
    }

    fn delivery(n: u64, lines: &[String]) -> Delivery {
        Delivery {
            tag: DeliveryTag::external(n),
            messages: lines.iter().map(|line| stored(line)).collect(),
            attempt: 0,
            position: Some(n),
        }
    }

    fn store() -> (tempfile::TempDir, Arc<SqliteState>) {
        let dir = tempfile::tempdir().unwrap();
        let state = SqliteState::open(dir.path().join("state.sqlite")).unwrap();
        (dir, Arc::new(state))
    }

    /// A writer with the default deduplication window.
    async fn writer(state: &Arc<SqliteState>) -> SuppressionWriter {
        SuppressionWriter::open(state.clone(), state.clone(), crate::DEFAULT_DEDUP_WINDOW)
            .await
            .unwrap()
    }

    fn entries(state: &SqliteState, recipient: &str, scope: ListScope) -> Vec<Suppression> {
        state.find_suppressions(recipient, scope).unwrap()
    }

    fn shape(found: &[Suppression]) -> Vec<(SuppressionType, SuppressionSource, Option<u64>)> {
        found
            .iter()
            .map(|e| (e.suppression_type, e.source, e.subaccount))
            .collect()
    }

    #[tokio::test]
    async fn each_suppressing_event_adds_its_entries() {
        let (_dir, state) = store();
        let mut writer = writer(&state).await;
        let lines = vec![
            bounce("1", "hard-t@example.com", "10", r#","transactional":"1""#),
            bounce("2", "hard-n@example.com", "90", r#","transactional":0"#),
            bounce("3", "hard-both@example.com", "30", ""),
            bounce("4", "soft@example.com", "21", r#","transactional":"1""#),
            bounce("5", "block@example.com", "50", ""),
            bounce("6", "admin@example.com", "25", ""),
            event(
                "spam_complaint",
                "7",
                "spam@example.com",
                r#","fbtype":"abuse""#,
            ),
            event("list_unsubscribe", "8", "list@example.com", ""),
            event(
                "link_unsubscribe",
                "9",
                "link@example.com",
                r#","subaccount_id":"7""#,
            ),
            event("delivery", "10", "fine@example.com", ""),
            event(
                "spam_complaint",
                "11",
                "zero@example.com",
                r#","subaccount_id":0"#,
            ),
        ];
        writer.process(&delivery(1, &lines)).await.unwrap();
        assert!(
            entries(&state, "hard-t@example.com", ListScope::All).is_empty(),
            "nothing is written before the checkpoint"
        );
        writer.checkpoint().await.unwrap();

        use SuppressionSource::*;
        use SuppressionType::*;
        let hard = entries(&state, "hard-t@example.com", ListScope::All);
        assert_eq!(shape(&hard), [(Transactional, BounceRule, None)]);
        assert_eq!(
            hard[0].description.as_deref(),
            Some("550 5.1.1 hard-t@example.com: unknown")
        );
        assert_eq!(
            shape(&entries(&state, "hard-n@example.com", ListScope::All)),
            [(NonTransactional, BounceRule, None)]
        );
        assert_eq!(
            shape(&entries(&state, "hard-both@example.com", ListScope::All)),
            [
                (NonTransactional, BounceRule, None),
                (Transactional, BounceRule, None)
            ]
        );
        for untouched in [
            "soft@example.com",
            "block@example.com",
            "admin@example.com",
            "fine@example.com",
        ] {
            assert!(
                entries(&state, untouched, ListScope::All).is_empty(),
                "{untouched}"
            );
        }
        let spam = entries(&state, "spam@example.com", ListScope::All);
        assert_eq!(shape(&spam), [(NonTransactional, SpamComplaint, None)]);
        assert_eq!(
            spam[0].description.as_deref(),
            Some("Spam complaint (abuse)")
        );
        assert_eq!(
            shape(&entries(&state, "list@example.com", ListScope::All)),
            [(NonTransactional, ListUnsubscribe, None)]
        );
        assert_eq!(
            shape(&entries(
                &state,
                "link@example.com",
                ListScope::Subaccount(7)
            )),
            [(NonTransactional, UnsubscribeLink, Some(7))]
        );
        assert!(entries(&state, "link@example.com", ListScope::Primary).is_empty());
        assert_eq!(
            shape(&entries(&state, "zero@example.com", ListScope::Primary)),
            [(NonTransactional, SpamComplaint, None)]
        );
        assert_eq!(
            writer.counts(),
            WriteCounts {
                created: 8,
                ..WriteCounts::default()
            }
        );
    }

    /// Without the deduplication window (or beyond it), writing stays idempotent by itself.
    #[tokio::test]
    async fn redelivery_changes_nothing_and_later_events_win() {
        let (_dir, state) = store();
        let mut writer = SuppressionWriter::open(state.clone(), state.clone(), DedupWindow::OFF)
            .await
            .unwrap();
        let first = vec![bounce(
            "1",
            "r@example.com",
            "10",
            r#","transactional":"0""#,
        )];
        writer.process(&delivery(1, &first)).await.unwrap();
        writer.checkpoint().await.unwrap();
        let before = entries(&state, "r@example.com", ListScope::All);

        writer.process(&delivery(1, &first)).await.unwrap();
        writer.checkpoint().await.unwrap();
        assert_eq!(entries(&state, "r@example.com", ListScope::All), before);
        assert_eq!(writer.counts().unchanged, 1);

        // A complaint that happened later replaces the bounce entry of the same type.
        let later = vec![event("spam_complaint", "2", "r@example.com", "")];
        writer.process(&delivery(2, &later)).await.unwrap();
        writer.checkpoint().await.unwrap();
        let after = entries(&state, "r@example.com", ListScope::All);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].source, SuppressionSource::SpamComplaint);
        assert_eq!(writer.counts().updated, 1);
        // The older bounce, redelivered, does not take it back.
        writer.process(&delivery(1, &first)).await.unwrap();
        writer.checkpoint().await.unwrap();
        assert_eq!(
            entries(&state, "r@example.com", ListScope::All)[0].source,
            SuppressionSource::SpamComplaint
        );
    }

    #[tokio::test]
    async fn people_and_compliance_entries_keep_their_source() {
        let (_dir, state) = store();
        let manual = |recipient: &str, source| SuppressionUpsert {
            recipient: recipient.into(),
            suppression_type: SuppressionType::NonTransactional,
            source,
            description: Some("kept".into()),
            list_id: None,
            subaccount: None,
            occurred_at: 1,
        };
        state
            .upsert_suppressions(
                vec![
                    manual("m@example.com", SuppressionSource::ManuallyAdded),
                    manual("c@example.com", SuppressionSource::Compliance),
                ],
                WhenKept::Skip,
            )
            .unwrap();
        let mut writer = writer(&state).await;
        let lines = vec![
            event("list_unsubscribe", "1", "m@example.com", ""),
            event("spam_complaint", "2", "c@example.com", ""),
        ];
        writer.process(&delivery(1, &lines)).await.unwrap();
        writer.checkpoint().await.unwrap();
        assert_eq!(writer.counts().kept, 2);
        for (recipient, source) in [
            ("m@example.com", SuppressionSource::ManuallyAdded),
            ("c@example.com", SuppressionSource::Compliance),
        ] {
            let found = entries(&state, recipient, ListScope::All);
            assert_eq!(
                (found[0].source, found[0].description.as_deref()),
                (source, Some("kept"))
            );
        }
    }

    #[tokio::test]
    async fn the_reported_address_is_kept_and_keyed_by_domain_case() {
        let (_dir, state) = store();
        let mut writer = writer(&state).await;
        let lines = vec![
            event("link_unsubscribe", "1", "Local@Example.COM", ""),
            // Only a hash: nothing to suppress.
            r#"{"type":"spam_complaint","event_id":"2","timestamp":"1700000000","message_id":"m","rcpt_hash":"abc"}"#
                .to_string(),
        ];
        writer.process(&delivery(1, &lines)).await.unwrap();
        writer.checkpoint().await.unwrap();
        let found = entries(&state, "Local@example.com", ListScope::All);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "Local@Example.COM");
        assert_eq!(writer.counts().created, 1);
    }

    #[tokio::test]
    async fn a_repeated_event_does_not_bring_back_a_deleted_entry() {
        let (dir, _) = store();
        let path = dir.path().join("state.sqlite");
        let open_state = || Arc::new(SqliteState::open(&path).unwrap());
        let state = open_state();
        let complaint = [event("spam_complaint", "7", "ann@example.com", "")];
        let mut first = writer(&state).await;
        first.process(&delivery(1, &complaint)).await.unwrap();
        first.checkpoint().await.unwrap();
        assert_eq!(entries(&state, "ann@example.com", ListScope::All).len(), 1);
        let deletion = SuppressionDeletion {
            recipient: "ann@example.com".into(),
            subaccount: None,
            suppression_type: None,
            list: ListSelector::AccountLevel,
        };
        state.delete_suppressions(&deletion).unwrap();

        // The client retries the request that carried the complaint, before and after a
        // restart of the writer.
        first.process(&delivery(2, &complaint)).await.unwrap();
        first.checkpoint().await.unwrap();
        drop((first, state));
        let state = open_state();
        let mut restarted = writer(&state).await;
        restarted.process(&delivery(3, &complaint)).await.unwrap();
        restarted.checkpoint().await.unwrap();
        assert!(entries(&state, "ann@example.com", ListScope::All).is_empty());

        let mut without = SuppressionWriter::open(state.clone(), state.clone(), DedupWindow::OFF)
            .await
            .unwrap();
        without.process(&delivery(4, &complaint)).await.unwrap();
        without.checkpoint().await.unwrap();
        assert_eq!(
            entries(&state, "ann@example.com", ListScope::All).len(),
            1,
            "without a window the repeat is applied again"
        );
    }

    #[test]
    fn only_suppressing_types_are_parsed() {
        let spam = stored(&event("spam_complaint", "1", "a@example.com", ""));
        let delivery = stored(&event("delivery", "2", "a@example.com", ""));
        assert!(may_suppress(&spam));
        assert!(!may_suppress(&delivery));
        assert!(may_suppress(br#"{"event_id":"1","type":"delivery"}"#));
    }

    #[tokio::test]
    async fn runs_on_the_embedded_hose() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(SqliteState::open(dir.path().join("state.sqlite")).unwrap());
        let hose: Arc<dyn Hose> = EmbeddedHose::open(dir.path().join("hose"), Default::default())
            .await
            .unwrap();
        hose.register(SUPPRESSIONS_SUBSCRIBER).await.unwrap();
        let lines = [
            bounce("1", "gone@example.com", "10", ""),
            event("delivery", "2", "fine@example.com", ""),
            event("list_unsubscribe", "3", "bye@example.com", ""),
        ];
        hose.publish(lines.iter().map(|line| stored(line)).collect())
            .await
            .unwrap();
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(crate::run(
            hose.clone(),
            SUPPRESSIONS_SUBSCRIBER,
            writer(&state).await,
            stopping,
        ));
        let mut waited = 0;
        while state.suppression_summary(ListScope::All).unwrap().total() < 3 {
            assert!(waited < 200, "entries did not appear");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        }
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        let summary = state.suppression_summary(ListScope::All).unwrap();
        assert_eq!(summary.count(SuppressionSource::BounceRule), 2);
        assert_eq!(summary.count(SuppressionSource::ListUnsubscribe), 1);
        hose.close().await.unwrap();
    }
}
