//! The state of one simulated message and the steps of its planned life.

use std::sync::Arc;

use eventhose_model::EventType;

/// One planned future event of a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    /// Planned simulated time, unix microseconds.
    pub(crate) at_us: i64,
    pub(crate) kind: StepKind,
}

/// What a planned step emits. Response indices point into the tables of
/// [`crate::catalog::responses`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StepKind {
    Delivery,
    Delay,
    Bounce { response: u16 },
    Timeout,
    PolicyRejection { response: u16 },
    OutOfBand { response: u16 },
    InitialOpen { amp: bool },
    Open { amp: bool },
    Click { amp: bool, link: u8 },
    ListUnsubscribe,
    LinkUnsubscribe { link: u8 },
    SpamComplaint,
}

impl StepKind {
    /// The event type this step emits.
    pub(crate) fn event_type(self) -> EventType {
        match self {
            StepKind::Delivery => EventType::Delivery,
            StepKind::Delay => EventType::Delay,
            StepKind::Bounce { .. } | StepKind::Timeout => EventType::Bounce,
            StepKind::PolicyRejection { .. } => EventType::PolicyRejection,
            StepKind::OutOfBand { .. } => EventType::OutOfBand,
            StepKind::InitialOpen { amp: false } => EventType::InitialOpen,
            StepKind::InitialOpen { amp: true } => EventType::AmpInitialOpen,
            StepKind::Open { amp: false } => EventType::Open,
            StepKind::Open { amp: true } => EventType::AmpOpen,
            StepKind::Click { amp: false, .. } => EventType::Click,
            StepKind::Click { amp: true, .. } => EventType::AmpClick,
            StepKind::ListUnsubscribe => EventType::ListUnsubscribe,
            StepKind::LinkUnsubscribe { .. } => EventType::LinkUnsubscribe,
            StepKind::SpamComplaint => EventType::SpamComplaint,
        }
    }
}

/// The transmission a message belongs to, shared by all its messages.
#[derive(Debug, Default)]
pub(crate) struct Transmission {
    pub(crate) id: u64,
    pub(crate) campaign: u32,
    pub(crate) template_version: u8,
    pub(crate) ab_version: u8,
    /// Whether its messages carry an AMP part.
    pub(crate) amp_enabled: bool,
    /// The fields all its events share, pre-rendered as JSON (`,"transmission_id":…`).
    pub(crate) json_fields: Vec<u8>,
}

/// A message in flight. Finished messages are recycled, so the buffers keep their capacity.
#[derive(Debug, Default)]
pub(crate) struct Message {
    /// Message counter; the `message_id` derives from it.
    pub(crate) seq: u64,
    pub(crate) transmission: Arc<Transmission>,
    pub(crate) recipient: u64,
    /// Index of the recipient domain in the catalogue.
    pub(crate) domain: u32,
    /// The message's own fields, pre-rendered as JSON (`,"message_id":…`) for every
    /// event type that carries all of them; empty until the message is injected.
    pub(crate) json_fields: Vec<u8>,
    /// Index of the sending IP within the campaign's pool.
    pub(crate) sending_ip: u32,
    pub(crate) injected_us: i64,
    pub(crate) size: u32,
    /// Remote MX address.
    pub(crate) mx_ip: [u8; 4],
    /// `outbound_tls`: 1 TLS used, 0 not offered, -1 negotiation failed.
    pub(crate) outbound_tls: i8,
    /// Index into the device user agents.
    pub(crate) device: u8,
    /// Index into the places.
    pub(crate) place: u8,
    /// Address of the recipient's device.
    pub(crate) client_ip: [u8; 4],
    /// The temporary failure this message meets while delayed (index into the delay table).
    pub(crate) delay_response: u16,
    /// Delay events emitted so far.
    pub(crate) delays_done: u8,
    /// Milliseconds from injection to delivery (or the last attempt so far).
    pub(crate) queue_time_ms: u64,
    /// Remaining planned steps, latest first (`pop` yields the next one).
    pub(crate) plan: Vec<Step>,
}

impl Message {
    /// The next planned step, if any.
    pub(crate) fn next_step(&self) -> Option<&Step> {
        self.plan.last()
    }
}
