//! The filters of an event search and their exact semantics.
//!
//! [`IndexedEvent`] holds what a filter looks at in one stored event, extracted by
//! [`IndexedEvent::from_stored`]; [`IndexedEvent::matches`] is the reference definition of
//! which events a set of [`EventFilters`] selects. Every store must select exactly the same
//! events (stores are differential-tested against [`crate::MemoryEventStore`], which calls it).

use eventhose_model::{
    parse_timestamp, parse_timestamp_str, EventType, ParseError, UnknownEventType,
};

use super::keywords::{fold_case, Tokenizer};
use crate::stored::{self, Scalar, StoredFields};
use crate::AnalyticsError;

/// How a text filter compares a stored value with a query value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// Byte-for-byte equality.
    Exact,
    /// Equality after [`fold_case`] of both sides.
    Caseless,
    /// Keyword matching ([`Tokenizer::matches`]).
    Keywords(Tokenizer),
}

impl Comparison {
    /// Whether the query value `wanted` matches the stored value `value`.
    pub fn matches(self, value: &str, wanted: &str) -> bool {
        match self {
            Comparison::Exact => value == wanted,
            Comparison::Caseless => fold_case(value) == fold_case(wanted),
            Comparison::Keywords(tokenizer) => tokenizer.matches(value, wanted),
        }
    }
}

/// A text filter of the Events API, named after its query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextFilter {
    /// `event_ids` → `event_id`, exact.
    EventIds,
    /// `recipients` → `rcpt_to`, case-insensitive.
    Recipients,
    /// `recipient_domains` → `recipient_domain`, keywords (domain segments).
    RecipientDomains,
    /// `from_addresses` → `friendly_from`, case-insensitive.
    FromAddresses,
    /// `sending_domains` → `sending_domain`, keywords (domain segments).
    SendingDomains,
    /// `subjects` → `subject`, keywords.
    Subjects,
    /// `reasons` → `reason`, keywords.
    Reasons,
    /// `campaigns` → `campaign_id`, keywords.
    Campaigns,
    /// `templates` → `template_id`, keywords.
    Templates,
    /// `sending_ips` → `sending_ip`, exact.
    SendingIps,
    /// `ip_pools` → `ip_pool`, keywords.
    IpPools,
    /// `messages` → `message_id`, exact.
    Messages,
    /// `transmissions` → `transmission_id`, exact.
    Transmissions,
    /// `mailbox_providers` → `mailbox_provider`, keywords.
    MailboxProviders,
    /// `mailbox_provider_regions` → `mailbox_provider_region`, keywords.
    MailboxProviderRegions,
    /// `ab_tests` → `ab_test_id`, keywords.
    AbTests,
}

impl TextFilter {
    /// Number of text filters.
    pub const COUNT: usize = 16;

    /// Every text filter, in declaration order (`ALL[f.index()] == f`).
    pub const ALL: [TextFilter; Self::COUNT] = [
        TextFilter::EventIds,
        TextFilter::Recipients,
        TextFilter::RecipientDomains,
        TextFilter::FromAddresses,
        TextFilter::SendingDomains,
        TextFilter::Subjects,
        TextFilter::Reasons,
        TextFilter::Campaigns,
        TextFilter::Templates,
        TextFilter::SendingIps,
        TextFilter::IpPools,
        TextFilter::Messages,
        TextFilter::Transmissions,
        TextFilter::MailboxProviders,
        TextFilter::MailboxProviderRegions,
        TextFilter::AbTests,
    ];

    /// Position in [`TextFilter::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The query parameter.
    pub fn param(self) -> &'static str {
        match self {
            TextFilter::EventIds => "event_ids",
            TextFilter::Recipients => "recipients",
            TextFilter::RecipientDomains => "recipient_domains",
            TextFilter::FromAddresses => "from_addresses",
            TextFilter::SendingDomains => "sending_domains",
            TextFilter::Subjects => "subjects",
            TextFilter::Reasons => "reasons",
            TextFilter::Campaigns => "campaigns",
            TextFilter::Templates => "templates",
            TextFilter::SendingIps => "sending_ips",
            TextFilter::IpPools => "ip_pools",
            TextFilter::Messages => "messages",
            TextFilter::Transmissions => "transmissions",
            TextFilter::MailboxProviders => "mailbox_providers",
            TextFilter::MailboxProviderRegions => "mailbox_provider_regions",
            TextFilter::AbTests => "ab_tests",
        }
    }

    /// The event field it looks at.
    pub fn field(self) -> &'static str {
        match self {
            TextFilter::EventIds => "event_id",
            TextFilter::Recipients => "rcpt_to",
            TextFilter::RecipientDomains => "recipient_domain",
            TextFilter::FromAddresses => "friendly_from",
            TextFilter::SendingDomains => "sending_domain",
            TextFilter::Subjects => "subject",
            TextFilter::Reasons => "reason",
            TextFilter::Campaigns => "campaign_id",
            TextFilter::Templates => "template_id",
            TextFilter::SendingIps => "sending_ip",
            TextFilter::IpPools => "ip_pool",
            TextFilter::Messages => "message_id",
            TextFilter::Transmissions => "transmission_id",
            TextFilter::MailboxProviders => "mailbox_provider",
            TextFilter::MailboxProviderRegions => "mailbox_provider_region",
            TextFilter::AbTests => "ab_test_id",
        }
    }

    /// How it compares.
    pub fn comparison(self) -> Comparison {
        match self {
            TextFilter::EventIds
            | TextFilter::SendingIps
            | TextFilter::Messages
            | TextFilter::Transmissions => Comparison::Exact,
            TextFilter::Recipients | TextFilter::FromAddresses => Comparison::Caseless,
            TextFilter::RecipientDomains | TextFilter::SendingDomains => {
                Comparison::Keywords(Tokenizer::Domain)
            }
            TextFilter::Subjects
            | TextFilter::Reasons
            | TextFilter::Campaigns
            | TextFilter::Templates
            | TextFilter::IpPools
            | TextFilter::MailboxProviders
            | TextFilter::MailboxProviderRegions
            | TextFilter::AbTests => Comparison::Keywords(Tokenizer::Words),
        }
    }
}

/// The filters of a search. An empty list places no condition; a non-empty list is satisfied
/// when any of its values matches (OR); an event is selected when every list is satisfied
/// (AND).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilters {
    /// `events`: the event's `type` is one of these.
    pub event_types: Vec<EventType>,
    /// `bounce_classes`: the event's `bounce_class`, read as an integer, is one of these
    /// (events without one never match).
    pub bounce_classes: Vec<u64>,
    /// `subaccounts`: the event's subaccount ([`IndexedEvent::subaccount`]) is one of these;
    /// 0 is the primary account.
    pub subaccounts: Vec<u64>,
    /// `ab_test_versions`: the event's `ab_test_version`, read as an integer, is one of these.
    pub ab_test_versions: Vec<u64>,
    /// The text filters, indexed by [`TextFilter::index`]: a value matches when the event has
    /// the filter's field as text ([`IndexedEvent::text`]) and the filter's
    /// [`Comparison`] accepts it. Events without the field never match a non-empty list.
    pub text: [Vec<String>; TextFilter::COUNT],
}

impl EventFilters {
    /// The values of one text filter.
    pub fn text(&self, filter: TextFilter) -> &[String] {
        &self.text[filter.index()]
    }

    /// Sets the values of one text filter.
    pub fn set_text(&mut self, filter: TextFilter, values: Vec<String>) {
        self.text[filter.index()] = values;
    }
}

/// What searches, retention and erasure look at in one stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedEvent {
    /// `event_id`.
    pub event_id: String,
    /// `type`.
    pub event_type: EventType,
    /// `timestamp`, unix seconds.
    pub timestamp: i64,
    /// `subaccount_id` read as an integer; 0 when the event has none; `None` when it has one
    /// that is not a non-negative integer (such an event matches no subaccount filter).
    pub subaccount: Option<u64>,
    /// `bounce_class` read as an integer.
    pub bounce_class: Option<u64>,
    /// `ab_test_version` read as an integer.
    pub ab_test_version: Option<u64>,
    /// The recipient addresses the event names (`rcpt_to`, then `raw_rcpt_to` when it differs),
    /// as text and case-folded, for erasure.
    pub recipients: Vec<String>,
    /// The text filters' values one after another: one allocation per event instead of one
    /// per field, which a subscriber reading 10^5 events a second notices.
    texts: String,
    /// Where each text filter's value lies in `texts`, indexed by [`TextFilter::index`].
    spans: [Option<(u32, u32)>; TextFilter::COUNT],
}

/// A field's value as text: a string as it is, a number as its JSON text; anything else (and
/// a missing field) is no text.
fn text_of(value: Option<Scalar<'_>>) -> Option<String> {
    let mut text = String::new();
    append_text(&mut text, value).map(|_| text)
}

/// Appends a field's value as text (see [`text_of`]) to `texts`; returns where it lies.
fn append_text(texts: &mut String, value: Option<Scalar<'_>>) -> Option<(u32, u32)> {
    let start = texts.len();
    match value? {
        Scalar::Text(text) => texts.push_str(&text),
        Scalar::Number(number) => {
            use std::fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(texts, "{number}");
        }
        Scalar::Null | Scalar::Other => return None,
    }
    Some((u32::try_from(start).ok()?, u32::try_from(texts.len()).ok()?))
}

/// A field's value as a non-negative integer: a decimal string or a JSON integer.
fn integer_of(value: Option<Scalar<'_>>) -> Option<u64> {
    match value? {
        Scalar::Text(text) => text.parse().ok(),
        Scalar::Number(number) => number.as_u64(),
        Scalar::Null | Scalar::Other => None,
    }
}

fn invalid(error: ParseError) -> AnalyticsError {
    AnalyticsError::Invalid(format!("stored event: {error}"))
}

impl IndexedEvent {
    /// Reads a stored event (the storage form of `eventhose_model::Event`). Fails when it is
    /// not a JSON object or lacks a valid `type`, `timestamp` or `event_id` (what
    /// `Event::from_stored` checks).
    pub fn from_stored(stored: &[u8]) -> Result<IndexedEvent, AnalyticsError> {
        IndexedEvent::from_fields(StoredFields::read(stored))
    }

    /// [`IndexedEvent::from_stored`] of a stored event already checked to be UTF-8.
    pub fn from_stored_text(stored: &str) -> Result<IndexedEvent, AnalyticsError> {
        IndexedEvent::from_fields(StoredFields::read_text(stored))
    }

    fn from_fields(
        fields: Result<StoredFields<'_>, serde_json::Error>,
    ) -> Result<IndexedEvent, AnalyticsError> {
        let fields = fields.map_err(|e| invalid(ParseError::from(e)))?;
        let event_type: EventType = match fields.get(stored::TYPE) {
            Some(Scalar::Text(name)) => name
                .parse()
                .map_err(|e: UnknownEventType| invalid(e.into()))?,
            _ => return Err(invalid(ParseError::MissingField { field: "type" })),
        };
        let timestamp = match fields.get(stored::TIMESTAMP) {
            Some(Scalar::Text(text)) => parse_timestamp_str(&text),
            Some(other) => parse_timestamp(&other.to_value()),
            None => Err(ParseError::MissingField { field: "timestamp" }),
        }
        .map_err(invalid)?;
        let event_id = match fields.get(TextFilter::EventIds.index()) {
            Some(Scalar::Text(id)) if !id.is_empty() => id.into_owned(),
            _ => return Err(invalid(ParseError::MissingField { field: "event_id" })),
        };
        let subaccount = match fields.get(stored::SUBACCOUNT_ID) {
            None | Some(Scalar::Null) => Some(0),
            other => integer_of(other),
        };
        let mut texts = String::with_capacity(256);
        let mut recipients = Vec::new();
        for slot in [TextFilter::Recipients.index(), stored::RAW_RCPT_TO] {
            if let Some(address) = text_of(fields.get(slot)) {
                let folded = fold_case(&address);
                if !recipients.contains(&folded) {
                    recipients.push(folded);
                }
            }
        }
        Ok(IndexedEvent {
            event_id,
            event_type,
            timestamp,
            subaccount,
            bounce_class: integer_of(fields.get(stored::BOUNCE_CLASS)),
            ab_test_version: integer_of(fields.get(stored::AB_TEST_VERSION)),
            recipients,
            spans: TextFilter::ALL
                .map(|filter| append_text(&mut texts, fields.get(filter.index()))),
            texts,
        })
    }

    /// The value of `filter`'s field as text.
    pub fn text(&self, filter: TextFilter) -> Option<&str> {
        let (start, end) = self.spans[filter.index()]?;
        self.texts.get(start as usize..end as usize)
    }

    /// Whether the event names `address` as its recipient (`rcpt_to` or `raw_rcpt_to`),
    /// case-insensitively.
    pub fn names_recipient(&self, address: &str) -> bool {
        let wanted = fold_case(address);
        self.recipients.contains(&wanted)
    }

    /// Whether `filters` select this event (see [`EventFilters`]). Time and paging are the
    /// query's business, not the filters'.
    pub fn matches(&self, filters: &EventFilters) -> bool {
        let any_of = |wanted: &[u64], have: Option<u64>| {
            wanted.is_empty() || have.is_some_and(|have| wanted.contains(&have))
        };
        (filters.event_types.is_empty() || filters.event_types.contains(&self.event_type))
            && any_of(&filters.bounce_classes, self.bounce_class)
            && any_of(&filters.subaccounts, self.subaccount)
            && any_of(&filters.ab_test_versions, self.ab_test_version)
            && TextFilter::ALL.into_iter().all(|filter| {
                let wanted = filters.text(filter);
                wanted.is_empty()
                    || self.text(filter).is_some_and(|value| {
                        wanted.iter().any(|w| filter.comparison().matches(value, w))
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexed(json: &str) -> IndexedEvent {
        IndexedEvent::from_stored(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_tables_are_consistent() {
        for (i, filter) in TextFilter::ALL.into_iter().enumerate() {
            assert_eq!(filter.index(), i);
        }
        let mut params: Vec<_> = TextFilter::ALL.iter().map(|f| f.param()).collect();
        params.sort_unstable();
        params.dedup();
        assert_eq!(params.len(), TextFilter::COUNT);
    }

    #[test]
    fn extracts_what_filters_and_erasure_look_at() {
        let event = indexed(
            r#"{"type":"bounce","timestamp":"1700000000","event_id":"e1","rcpt_to":"bob@x.com",
               "raw_rcpt_to":"Bob@X.com","bounce_class":"10","subaccount_id":"7",
               "campaign_id":"Black-Friday","transmission_id":"123","ab_test_version":"2"}"#,
        );
        assert_eq!(event.event_type, EventType::Bounce);
        assert_eq!(event.timestamp, 1_700_000_000);
        assert_eq!(event.subaccount, Some(7));
        assert_eq!(event.bounce_class, Some(10));
        assert_eq!(event.ab_test_version, Some(2));
        assert_eq!(event.text(TextFilter::Campaigns), Some("Black-Friday"));
        assert_eq!(event.text(TextFilter::Transmissions), Some("123"));
        assert_eq!(event.text(TextFilter::Subjects), None);
        assert!(event.names_recipient("BOB@x.com"));
        assert!(!event.names_recipient("bob@y.com"));
        let primary = indexed(r#"{"type":"open","timestamp":"1","event_id":"e2"}"#);
        assert_eq!(primary.subaccount, Some(0));
        assert!(primary.recipients.is_empty());
        let odd =
            indexed(r#"{"type":"open","timestamp":"1","event_id":"e3","subaccount_id":"-4"}"#);
        assert_eq!(odd.subaccount, None);
        assert!(IndexedEvent::from_stored(b"{\"type\":\"open\"}").is_err());
        assert!(IndexedEvent::from_stored(b"not json").is_err());
    }

    /// What `from_stored` reads, computed from the value tree (`Event::from_stored`): the
    /// reading the fast reader must equal.
    fn from_value_tree(stored: &[u8]) -> Option<IndexedEvent> {
        use serde_json::Value;
        let event = eventhose_model::Event::from_stored(stored).ok()?;
        let fields = event.fields();
        let text = |name: &str| match fields.get(name)? {
            Value::String(t) => Some(t.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let integer = |name: &str| match fields.get(name)? {
            Value::String(t) => t.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        let mut texts = String::new();
        let mut recipients: Vec<String> = Vec::new();
        for name in ["rcpt_to", "raw_rcpt_to"] {
            if let Some(a) = text(name) {
                let folded = fold_case(&a);
                if !recipients.contains(&folded) {
                    recipients.push(folded);
                }
            }
        }
        Some(IndexedEvent {
            event_id: event.event_id().to_owned(),
            event_type: event.event_type(),
            timestamp: event.timestamp(),
            subaccount: match fields.get("subaccount_id") {
                None | Some(Value::Null) => Some(0),
                Some(_) => integer("subaccount_id"),
            },
            bounce_class: integer("bounce_class"),
            ab_test_version: integer("ab_test_version"),
            recipients,
            spans: TextFilter::ALL.map(|f| {
                let start = u32::try_from(texts.len()).ok()?;
                texts.push_str(&text(f.field())?);
                Some((start, u32::try_from(texts.len()).ok()?))
            }),
            texts,
        })
    }

    #[test]
    fn the_fast_reader_equals_the_value_tree() {
        let cases = [
            r#"{"type":"bounce","timestamp":"1700000000","event_id":"e1","rcpt_to":"Bob@X.com","raw_rcpt_to":"bob@x.com","bounce_class":10,"subaccount_id":7,"campaign_id":"Black\u002dFriday","subject":"caf\u00e9 \"deals\"","reason":null,"ip_pool":["a"],"ab_test_version":"2","transmission_id":123,"message_id":1.5}"#,
            r#"{"type":"open","timestamp":1700000001,"event_id":"e2","subaccount_id":null,"bounce_class":"x","sending_ip":"10.0.0.1","template_id":true}"#,
            r#"{"type":"delivery","timestamp":"2026-11-27T10:00:00Z","event_id":"e3","subaccount_id":"-4","ab_test_version":-2,"mailbox_provider":"Gmail","mailbox_provider_region":"North America"}"#,
            r#"{"type":"click","timestamp":"1","event_id":"e4","campaign_id":"a","campaign_id":"b","nested":{"campaign_id":"c","rcpt_to":"no@where"}}"#,
            r#"{"type":"open","timestamp":"1","event_id":""}"#,
            r#"{"type":"open","timestamp":"1","event_id":5}"#,
            r#"{"type":"teleport","timestamp":"1","event_id":"e"}"#,
            r#"{"type":"open","timestamp":"later","event_id":"e"}"#,
            r#"{"type":"open","timestamp":{},"event_id":"e"}"#,
            r#"{"type":"open","event_id":"e"}"#,
            r#"{"timestamp":"1","event_id":"e"}"#,
            r#"[{"type":"open"}]"#,
            r#"{"type":"open","timestamp":"1","event_id":"e"} trailing"#,
        ];
        for case in cases {
            let fast = IndexedEvent::from_stored(case.as_bytes()).ok();
            assert_eq!(fast, from_value_tree(case.as_bytes()), "{case}");
        }
    }

    #[test]
    fn lists_or_within_and_across() {
        let event = indexed(
            r#"{"type":"delivery","timestamp":"5","event_id":"e","rcpt_to":"a@b.com",
               "campaign_id":"spring-sale","subaccount_id":"3"}"#,
        );
        let mut filters = EventFilters::default();
        assert!(event.matches(&filters), "no filter selects everything");
        filters.event_types = vec![EventType::Bounce, EventType::Delivery];
        filters.set_text(TextFilter::Campaigns, vec!["fall".into(), "sale".into()]);
        assert!(event.matches(&filters));
        filters.subaccounts = vec![4];
        assert!(!event.matches(&filters), "another parameter must hold too");
        filters.subaccounts = vec![4, 3];
        assert!(event.matches(&filters));
        filters.set_text(TextFilter::Recipients, vec!["A@B.COM".into()]);
        assert!(event.matches(&filters));
        filters.set_text(TextFilter::Reasons, vec!["anything".into()]);
        assert!(!event.matches(&filters), "no reason field: no match");
        filters.set_text(TextFilter::Reasons, Vec::new());
        filters.bounce_classes = vec![10];
        assert!(!event.matches(&filters), "no bounce_class: no match");
    }

    #[test]
    fn comparisons_follow_their_kind() {
        assert!(Comparison::Exact.matches("abc", "abc"));
        assert!(!Comparison::Exact.matches("abc", "ABC"));
        assert!(Comparison::Caseless.matches("Bob@X.com", "bob@x.COM"));
        assert!(!Comparison::Caseless.matches("bob@x.com", "bob@x"));
        assert!(
            Comparison::Keywords(Tokenizer::Words).matches("blackfriday-specials", "blackfriday")
        );
        assert!(!Comparison::Keywords(Tokenizer::Words).matches("blackfriday-specials", "friday"));
    }
}
