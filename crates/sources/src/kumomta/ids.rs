//! The ids of KumoMTA events: stable, so a record posted again gives the same events.
//!
//! **`event_id`** is the decimal form of a 64-bit xxh3 hash (the digits-only shape of
//! SparkPost's ids) of the record's identity, each part length-prefixed: a `kumomta` tag,
//! the record type, `nodeid`, `id`, the recipient the event is about, the time (to the
//! microsecond), `num_attempts`, the reply (code, enhanced code, text), `sender`,
//! `session_id` and `peer_address.addr`. Every retry of a message is a record of its own, at
//! its own time and attempt, so each gets its own id; one record sent twice (a hook's retry
//! after a lost answer, a log re-read) gives the same ids, which the subscribers' duplicate
//! handling drops.
//!
//! **`message_id`** is KumoMTA's spool id as written (32 hex digits), so an event can be
//! traced in KumoMTA's own logs and tools. Two exceptions: a `Rejection` has no spool id
//! (its `id` is empty), so it gets 20 hex digits of an xxh3-128 hash of node, session, time,
//! sender and recipient; and on `OOB` and `Feedback` records the id is the inbound report's,
//! not the original message's, which KumoMTA does not know.

use chrono::{DateTime, FixedOffset};

use super::record::Record;
use crate::postfix::events::IdHasher;

/// The `event_id` of the event `record` gives for `recipient`.
pub(crate) fn event_id(record: &Record<'_>, recipient: &str) -> String {
    let response = &record.response;
    hasher(record.time)
        .part(record.type_name)
        .part(record.nodeid)
        .part(record.id)
        .part(recipient)
        .part(
            &record
                .num_attempts
                .map(|n| n.to_string())
                .unwrap_or_default(),
        )
        .part(&response.code.map(|c| c.to_string()).unwrap_or_default())
        .part(&response.enhanced.map(|e| e.to_string()).unwrap_or_default())
        .part(response.content)
        .part(record.sender)
        .part(record.session_id.unwrap_or(""))
        .part(record.peer_addr.unwrap_or(""))
        .event_id()
}

/// The `message_id` of `record`'s events for `recipient`.
pub(crate) fn message_id(record: &Record<'_>, recipient: &str) -> String {
    if !record.id.is_empty() {
        return record.id.to_owned();
    }
    hasher(record.time)
        .part(record.nodeid)
        .part(record.session_id.unwrap_or(""))
        .part(record.sender)
        .part(recipient)
        .part(record.peer_addr.unwrap_or(""))
        .message_id()
}

fn hasher(time: DateTime<FixedOffset>) -> IdHasher {
    IdHasher::new().part("kumomta").time(time)
}
