//! The SparkPost event types the simulator produces and their webhook categories.

use std::fmt;

/// One SparkPost event type (the `type` field of an event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// Message accepted by the MTA.
    Injection,
    /// Remote MTA acknowledged receipt.
    Delivery,
    /// Remote MTA temporarily rejected the message.
    Delay,
    /// Remote MTA permanently rejected the message (in-band).
    Bounce,
    /// The MTA rejected the message for a policy reason.
    PolicyRejection,
    /// Remote MTA bounced the message after accepting it.
    OutOfBand,
    /// Recipient reported the message as spam.
    SpamComplaint,
    /// Recipient opened the message (top pixel).
    InitialOpen,
    /// Recipient opened the message (bottom pixel).
    Open,
    /// Recipient clicked a tracked link.
    Click,
    /// Recipient opened the AMP part (top pixel).
    AmpInitialOpen,
    /// Recipient opened the AMP part (bottom pixel).
    AmpOpen,
    /// Recipient clicked a tracked link in the AMP part.
    AmpClick,
    /// Message generation failed for a technical reason.
    GenerationFailure,
    /// Message generation was rejected for a policy reason.
    GenerationRejection,
    /// Recipient used the mailbox provider's unsubscribe feature.
    ListUnsubscribe,
    /// Recipient clicked a tagged unsubscribe link.
    LinkUnsubscribe,
}

impl EventType {
    /// Number of event types.
    pub const COUNT: usize = 17;

    /// Every event type, in declaration order (`ALL[t.index()] == t`).
    pub const ALL: [EventType; Self::COUNT] = [
        EventType::Injection,
        EventType::Delivery,
        EventType::Delay,
        EventType::Bounce,
        EventType::PolicyRejection,
        EventType::OutOfBand,
        EventType::SpamComplaint,
        EventType::InitialOpen,
        EventType::Open,
        EventType::Click,
        EventType::AmpInitialOpen,
        EventType::AmpOpen,
        EventType::AmpClick,
        EventType::GenerationFailure,
        EventType::GenerationRejection,
        EventType::ListUnsubscribe,
        EventType::LinkUnsubscribe,
    ];

    /// Position of this type in [`EventType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `type` string SparkPost uses for this event.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Injection => "injection",
            EventType::Delivery => "delivery",
            EventType::Delay => "delay",
            EventType::Bounce => "bounce",
            EventType::PolicyRejection => "policy_rejection",
            EventType::OutOfBand => "out_of_band",
            EventType::SpamComplaint => "spam_complaint",
            EventType::InitialOpen => "initial_open",
            EventType::Open => "open",
            EventType::Click => "click",
            EventType::AmpInitialOpen => "amp_initial_open",
            EventType::AmpOpen => "amp_open",
            EventType::AmpClick => "amp_click",
            EventType::GenerationFailure => "generation_failure",
            EventType::GenerationRejection => "generation_rejection",
            EventType::ListUnsubscribe => "list_unsubscribe",
            EventType::LinkUnsubscribe => "link_unsubscribe",
        }
    }

    /// The webhook category key (`msys.<category>`) this type belongs to.
    pub fn category(self) -> &'static str {
        match self {
            EventType::Injection
            | EventType::Delivery
            | EventType::Delay
            | EventType::Bounce
            | EventType::PolicyRejection
            | EventType::OutOfBand
            | EventType::SpamComplaint => "message_event",
            EventType::InitialOpen
            | EventType::Open
            | EventType::Click
            | EventType::AmpInitialOpen
            | EventType::AmpOpen
            | EventType::AmpClick => "track_event",
            EventType::GenerationFailure | EventType::GenerationRejection => "gen_event",
            EventType::ListUnsubscribe | EventType::LinkUnsubscribe => "unsubscribe_event",
        }
    }

    /// Looks a type up by its SparkPost `type` string.
    pub fn from_name(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the event carries a bounce classification that ends or reports a failed delivery.
    pub fn is_bounce(self) -> bool {
        matches!(self, EventType::Bounce | EventType::OutOfBand)
    }

    /// Whether the event is an engagement (tracking) event.
    pub fn is_engagement(self) -> bool {
        self.category() == "track_event"
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_position_in_all() {
        for (i, t) in EventType::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.as_str()), Some(t));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::COUNT);
        assert_eq!(EventType::from_name("relay_injection"), None);
    }

    #[test]
    fn categories_follow_the_webhook_grouping() {
        assert_eq!(EventType::Delay.category(), "message_event");
        assert_eq!(EventType::AmpClick.category(), "track_event");
        assert_eq!(EventType::GenerationRejection.category(), "gen_event");
        assert_eq!(EventType::LinkUnsubscribe.category(), "unsubscribe_event");
    }
}
