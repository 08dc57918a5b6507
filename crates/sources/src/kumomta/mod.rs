//! The KumoMTA source: KumoMTA's log records turned into SparkPost-shaped events.
//!
//! KumoMTA writes a JSON record per thing that happens to a message (received, delivered,
//! deferred, bounced, …) and can post them anywhere from a log hook. [`record`](mod@record)
//! reads one record, [`map_record`] turns it into events (the table of types and fields is
//! in [`map`]), [`bounce_class`] says how KumoMTA's bounce classes become SparkPost's, and
//! `ids.rs` how the events get ids that stay the same when a record is sent again. Records
//! are independent: no state is kept between them, so they may arrive in any order.
//!
//! ```
//! use eventhose_sources::kumomta::{map_record, KumoConfig, Outcome};
//! use serde_json::json;
//!
//! let record = json!({
//!     "type": "Delivery",
//!     "id": "1d98076abbbc11ed940250ebf67f93bd",
//!     "sender": "bounce@sender.example",
//!     "recipient": "user@gmail.com",
//!     "queue": "spring:acme@gmail.com",
//!     "size": 1047,
//!     "response": {"code": 250, "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
//!                  "content": "OK", "command": "."},
//!     "timestamp": 1678069691,
//!     "created": 1678069690,
//!     "num_attempts": 0,
//! });
//! let mut events = Vec::new();
//! let outcome = map_record(&record, &KumoConfig::default(), &mut events).unwrap();
//! assert_eq!(outcome, Outcome::Events(1));
//! assert_eq!(events[0]["type"], "delivery");
//! assert_eq!(events[0]["campaign_id"], "spring");
//! assert_eq!(events[0]["mailbox_provider"], "Gmail");
//! assert_eq!(events[0]["queue_time"], "1000");
//! ```

pub mod bounce_class;
mod config;
mod ids;
pub mod map;
pub mod queue;
pub mod record;

pub use config::{KumoConfig, UnknownTenant};
pub use map::{map_record, Outcome, Skip};
pub use record::{Problem, RecordError, RecordType};

#[cfg(test)]
mod tests;
