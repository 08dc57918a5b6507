//! The SparkPost-style email event model used throughout eventhose.
//!
//! This crate has no I/O. It knows:
//! - the event categories ([`Category`]) and event types ([`EventType`]) with their documentation,
//! - the field dictionary: each known field's kind, description and sample value ([`field_kind`],
//!   [`field_description`], [`field_sample`]),
//! - the bounce classification codes ([`BOUNCE_CLASSES`], [`bounce_class`]) and which one an
//!   SMTP reply belongs to ([`classify_bounce`], reading the reply with [`SmtpReply::parse`]),
//! - which mailbox provider hosts a recipient domain ([`mailbox_provider`],
//!   [`mailbox_provider_for_mx`]), and what ingest adds to an event that leaves such facts out
//!   ([`enrich_stored`]),
//! - how to turn one ingest line into a validated, normalised [`Event`] and back into its storage
//!   form or SparkPost's webhook envelope, or straight into the storage form
//!   ([`normalize_ingest_line`]),
//! - event identity: the id derived for an event that arrives without one
//!   ([`content_event_id`]), the key subscribers deduplicate by ([`event_identity`]) and the
//!   window of recently applied events they keep ([`AppliedIds`]).
//!
//! ```
//! use eventhose_model::{Event, EventType};
//!
//! let line = br#"{"msys":{"message_event":{"type":"delivery","timestamp":1460989507,
//!     "message_id":"000443ee14578172be22","rcpt_to":"Recipient@Example.com","num_retries":0}}}"#;
//! let event = Event::parse_ingest(line).unwrap();
//! assert_eq!(event.event_type(), EventType::Delivery);
//! assert_eq!(event.rcpt_to(), Some("recipient@example.com"));
//! assert_eq!(event.get_str("raw_rcpt_to"), Some("Recipient@Example.com"));
//! assert_eq!(event.recipient_domain(), Some("example.com"));
//! assert_eq!(event.get_str("num_retries"), Some("0"));
//! assert_eq!(event.get_str("timestamp"), Some("1460989507"));
//! ```

mod applied;
mod bounce;
mod category;
mod classify;
mod documented_fields;
mod enrich;
mod envelope;
mod error;
mod event;
mod event_id;
mod event_type;
mod field_dictionary;
mod mailbox_provider;
mod normalize;
mod raw_ingest;
mod scope;
/// The fast path's differential check, for tests of this and other crates; not part of the
/// API.
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
mod timestamp;
mod validate;

pub use applied::{unix_minute, AppliedId, AppliedIds, DedupWindow};
pub use bounce::{bounce_class, BounceCategory, BounceClass, BOUNCE_CLASSES};
pub use category::Category;
pub use classify::{classify_bounce, classify_reply_text, EnhancedStatus, SmtpReply};
pub use enrich::{add_provider, enrich_stored};
pub use error::ParseError;
pub use event::{normalize_ingest_line, normalize_scoped_line, Event};
pub use event_id::{content_event_id, event_identity, MAX_EVENT_ID_LEN};
pub use event_type::{EventType, UnknownEventType};
pub use field_dictionary::{
    field_description, field_kind, field_sample, field_spec, FieldKind, FieldSpec, FIELD_DICTIONARY,
};
pub use mailbox_provider::{mailbox_provider, mailbox_provider_for_mx, MailboxProvider};
pub use scope::{subaccount_id_from_text, IngestScope, MAX_SUBACCOUNT_ID};
pub use timestamp::{parse_timestamp, parse_timestamp_str, MAX_TIMESTAMP};
pub use validate::MAX_DEPTH;
