//! The documentation and samples: the webhooks' field documentation and samples, limited to
//! the message event types, in the Events API's shape.

use axum::http::StatusCode;
use eventhose_analytics::SEARCHABLE_EVENT_TYPES;
use eventhose_model::{field_sample, EventType};

use super::harness;

#[tokio::test]
async fn documentation_describes_each_message_event_type() {
    let h = harness().await;
    let answer = h.get("/api/v1/events/message/documentation").await;
    let results = answer.results().as_array().unwrap();
    let types: Vec<&str> = results
        .iter()
        .map(|doc| doc["type"]["sampleValue"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = SEARCHABLE_EVENT_TYPES.iter().map(|t| t.as_str()).collect();
    assert_eq!(types, expected);
    assert!(!types.contains(&"relay_injection"));
    let bounce = &results[2];
    assert_eq!(bounce["display_name"]["sampleValue"], "Bounce");
    assert_eq!(
        bounce["event_description"]["sampleValue"],
        EventType::Bounce.description()
    );
    for field in EventType::Bounce.documented_fields() {
        assert!(
            bounce[field]["description"].as_str().is_some(),
            "bounce documents {field}"
        );
    }
    assert_eq!(
        bounce["bounce_class"]["sampleValue"],
        field_sample("bounce_class").unwrap()
    );
    assert!(bounce["timestamp"]["sampleValue"]
        .as_str()
        .unwrap()
        .ends_with(".000+00:00"));
}

#[tokio::test]
async fn samples_are_bare_events_of_the_asked_types() {
    let h = harness().await;
    let all = h.get("/api/v1/events/message/samples").await;
    let all = all.results().as_array().unwrap().clone();
    assert_eq!(all.len(), SEARCHABLE_EVENT_TYPES.len());
    assert!(all.iter().all(|e| e.get("msys").is_none()));
    let some = h
        .get("/api/v1/events/message/samples?events=click,bounce,click")
        .await;
    let some = some.results().as_array().unwrap().clone();
    let types: Vec<&str> = some.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["click", "bounce"]);
    assert_eq!(
        some[1]["bounce_class"],
        field_sample("bounce_class").unwrap()
    );
    assert_eq!(some[1]["timestamp"], "2016-04-18T14:25:07.000+00:00");
    assert!(some[0]["target_link_url"].is_string());
    // events.apib's sample: `"injection_time": "2016-04-18T14:25:07.000+00:00"`.
    assert_eq!(some[0]["injection_time"], "2016-04-18T14:25:07.000+00:00");
    for bad in ["relay_delivery", "nope", "click,ab_test_completed"] {
        let answer = h
            .get(&format!("/api/v1/events/message/samples?events={bad}"))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(answer.bad_params(), ["events"], "{bad}");
    }
}
