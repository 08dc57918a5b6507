//! How an entry is shown: SparkPost's suppression object.

use chrono::{TimeZone, Utc};
use eventhose_state::{Suppression, SuppressionSummary, SuppressionType};
use serde_json::{json, Map, Value};

/// Unix seconds as SparkPost shows them: `2017-10-01T12:00:00+00:00`.
pub(crate) fn time(unix_seconds: i64) -> Value {
    match Utc.timestamp_opt(unix_seconds, 0).single() {
        Some(at) => json!(at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()),
        None => Value::Null,
    }
}

/// SparkPost's suppression object: `list_id` only for a list-specific entry, `subaccount_id`
/// only for a subaccount's entry, and the deprecated `transactional`/`non_transactional` flags.
pub(crate) fn entry(entry: &Suppression) -> Value {
    let mut object = Map::new();
    object.insert("recipient".into(), json!(entry.recipient));
    object.insert("type".into(), json!(entry.suppression_type.as_str()));
    object.insert("source".into(), json!(entry.source.as_str()));
    if let Some(description) = &entry.description {
        object.insert("description".into(), json!(description));
    }
    if let Some(list_id) = &entry.list_id {
        object.insert("list_id".into(), json!(list_id));
    }
    object.insert("created".into(), time(entry.created));
    object.insert("updated".into(), time(entry.updated));
    let transactional = entry.suppression_type == SuppressionType::Transactional;
    object.insert("transactional".into(), json!(transactional));
    object.insert("non_transactional".into(), json!(!transactional));
    if let Some(subaccount) = entry.subaccount {
        object.insert("subaccount_id".into(), json!(subaccount));
    }
    Value::Object(object)
}

/// SparkPost's summary: the count per source key, and `total`.
pub(crate) fn summary(summary: &SuppressionSummary) -> Value {
    let mut object = Map::new();
    for source in eventhose_state::SuppressionSource::ALL {
        object.insert(source.key().into(), json!(summary.count(source)));
    }
    object.insert("total".into(), json!(summary.total()));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use eventhose_state::SuppressionSource;

    use super::*;

    #[test]
    fn shows_sparkpost_fields() {
        let mut shown = Suppression {
            recipient: "Rcpt@Example.com".into(),
            suppression_type: SuppressionType::NonTransactional,
            source: SuppressionSource::ListUnsubscribe,
            description: Some("why".into()),
            list_id: None,
            subaccount: None,
            created: 1_506_859_200,
            updated: 1_506_859_260,
        };
        assert_eq!(
            entry(&shown),
            json!({
                "recipient": "Rcpt@Example.com",
                "type": "non_transactional",
                "source": "List Unsubscribe",
                "description": "why",
                "created": "2017-10-01T12:00:00+00:00",
                "updated": "2017-10-01T12:01:00+00:00",
                "transactional": false,
                "non_transactional": true,
            })
        );
        shown.list_id = Some("news".into());
        shown.subaccount = Some(146);
        shown.description = None;
        let value = entry(&shown);
        assert_eq!(value["list_id"], "news");
        assert_eq!(value["subaccount_id"], 146);
        assert!(value.get("description").is_none());
    }
}
