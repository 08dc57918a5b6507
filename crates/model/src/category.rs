//! Event categories: the keys under `msys` in SparkPost's webhook envelope.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::EventType;

/// A group of related event types; its [`key`](Category::key) names it inside the `msys` envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Life cycle of an outbound message: injection, delivery and disposition.
    MessageEvent,
    /// Recipient engagement: opens and clicks.
    TrackEvent,
    /// Message generation failures and rejections.
    GenEvent,
    /// Unsubscribes through list-unsubscribe or a tracked link.
    UnsubscribeEvent,
    /// Life cycle of an inbound (relayed) message.
    RelayEvent,
    /// Outcomes of A/B tests.
    AbTestEvent,
    /// Outcomes of Ingest API batches.
    IngestEvent,
}

impl Category {
    /// Every category, in documentation order.
    pub const ALL: [Category; 7] = [
        Category::MessageEvent,
        Category::TrackEvent,
        Category::GenEvent,
        Category::UnsubscribeEvent,
        Category::RelayEvent,
        Category::AbTestEvent,
        Category::IngestEvent,
    ];

    /// The envelope key, e.g. `"message_event"`.
    pub fn key(self) -> &'static str {
        match self {
            Category::MessageEvent => "message_event",
            Category::TrackEvent => "track_event",
            Category::GenEvent => "gen_event",
            Category::UnsubscribeEvent => "unsubscribe_event",
            Category::RelayEvent => "relay_event",
            Category::AbTestEvent => "ab_test_event",
            Category::IngestEvent => "ingest_event",
        }
    }

    /// Looks a category up by its envelope key.
    pub fn from_key(key: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.key() == key)
    }

    /// Human-readable name, as shown by the webhook documentation endpoint.
    pub fn display_name(self) -> &'static str {
        match self {
            Category::MessageEvent => "Message Events",
            Category::TrackEvent => "Engagement Events",
            Category::GenEvent => "Generation Events",
            Category::UnsubscribeEvent => "Unsubscribe Events",
            Category::RelayEvent => "Relay Events",
            Category::AbTestEvent => "A/B Test Events",
            Category::IngestEvent => "Ingest Events",
        }
    }

    /// One-sentence description of what the category's events report.
    pub fn description(self) -> &'static str {
        match self {
            Category::MessageEvent => "Message events describe the life cycle of a message including injection, delivery, and disposition.",
            Category::TrackEvent => "Engagement events describe the behavior of a recipient with respect to the message sent.",
            Category::GenEvent => "Generation events provide insight into message generation failures or rejections.",
            Category::UnsubscribeEvent => "Unsubscribe events provide insight into the action the user performed to become unsubscribed.",
            Category::RelayEvent => "Relay events describe the life cycle of an inbound message including injection, delivery, and disposition.",
            Category::AbTestEvent => "A/B test events report the results of completed or cancelled A/B tests.",
            Category::IngestEvent => "Ingest events report the outcome of processing a batch submitted to the Ingest API.",
        }
    }

    /// The event types belonging to this category, in documentation order.
    pub fn event_types(self) -> impl Iterator<Item = EventType> {
        EventType::ALL
            .into_iter()
            .filter(move |event_type| event_type.category() == self)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_distinct() {
        for category in Category::ALL {
            assert_eq!(Category::from_key(category.key()), Some(category));
            assert_eq!(category.to_string(), category.key());
        }
        let mut keys: Vec<_> = Category::ALL.iter().map(|c| c.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Category::ALL.len());
        assert_eq!(Category::from_key("adaptive_event"), None);
        assert_eq!(Category::from_key("Message_Event"), None);
    }

    #[test]
    fn serde_uses_the_key() {
        for category in Category::ALL {
            let json = serde_json::to_value(category).unwrap();
            assert_eq!(json, serde_json::Value::from(category.key()));
            let back: Category = serde_json::from_value(json).unwrap();
            assert_eq!(back, category);
        }
    }

    #[test]
    fn every_category_has_event_types_covering_all_types_once() {
        let mut total = 0;
        for category in Category::ALL {
            let types: Vec<_> = category.event_types().collect();
            assert!(!types.is_empty(), "{category} has no event types");
            assert!(types.iter().all(|t| t.category() == category));
            total += types.len();
        }
        assert_eq!(total, EventType::ALL.len());
        let engagement: Vec<_> = Category::TrackEvent.event_types().collect();
        assert_eq!(
            engagement,
            [
                EventType::Open,
                EventType::InitialOpen,
                EventType::Click,
                EventType::AmpOpen,
                EventType::AmpInitialOpen,
                EventType::AmpClick
            ]
        );
    }

    #[test]
    fn display_names_match_the_reference() {
        assert_eq!(Category::MessageEvent.display_name(), "Message Events");
        assert_eq!(Category::TrackEvent.display_name(), "Engagement Events");
        assert_eq!(Category::GenEvent.display_name(), "Generation Events");
        assert!(Category::ALL.iter().all(|c| c.description().ends_with('.')));
    }
}
