//! What the record-at-a-time sources (KumoMTA, PowerMTA) share when they build an event: the
//! field map, kept to the fields SparkPost documents for the event's type, and the rule that
//! a transient failure never gets a hard bounce class.

use eventhose_model::{bounce_class, BounceCategory, EventType};
use serde_json::{Map, Value};

/// Fields every event may carry although SparkPost documents them for a few types only: the
/// Metrics API groups every count by mailbox provider.
pub(crate) const EVERY_TYPE: &[&str] = &["mailbox_provider", "mailbox_provider_region"];

/// Soft Bounce, the class a transient failure gets where a hard one was found.
const SOFT_BOUNCE: u16 = 20;

/// An event's fields as they are gathered.
#[derive(Default)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    pub(crate) fn text(&mut self, name: &str, value: &str) {
        self.0
            .insert(name.to_owned(), Value::String(value.to_owned()));
    }

    pub(crate) fn maybe(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    /// Integers as decimal strings, as SparkPost sends them.
    pub(crate) fn int(&mut self, name: &str, value: u64) {
        self.text(name, &value.to_string());
    }

    /// The fields documented for `event_type`, and those carried by every type.
    pub(crate) fn keep_documented(mut self, event_type: EventType) -> Map<String, Value> {
        let documented = event_type.documented_fields();
        self.0.retain(|name, _| {
            documented.binary_search(&name.as_str()).is_ok() || EVERY_TYPE.contains(&name.as_str())
        });
        self.0
    }
}

/// `class`, unless the failure was `transient` and the class hard: then Soft Bounce, since
/// a hard class would suppress a recipient who may well get the next attempt.
pub(crate) fn soft_when_transient(class: u16, transient: bool) -> u16 {
    let hard = bounce_class(class).is_some_and(|c| c.category == BounceCategory::Hard);
    if transient && hard {
        SOFT_BOUNCE
    } else {
        class
    }
}
