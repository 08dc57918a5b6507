//! The ingest fast path of `eventhose-model` against the value-tree path it stands in for, on
//! simulated MTA events and variations of them (the model's own tests cover hand-written and
//! generated lines with the same check, `eventhose_model::testing`). Here rather than in the
//! model's crate, which the simulator depends on.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use eventhose_model::testing::{assert_matches_reference, reference, shown};
use eventhose_model::{field_kind, FieldKind};
use eventhose_simulator::{LineFormat, SimConfig, Simulator};
use serde_json::{json, Value};

/// `count` simulated lines, alternating the bare and the `msys` form; `time_scale` below 1
/// compresses message lives so engagement and bounce events show up early.
fn simulated_lines(seed: u64, count: usize, time_scale: f64) -> Vec<Vec<u8>> {
    let mut config = SimConfig::new(seed, 1_717_200_000, 10_000.0);
    config.time_scale = time_scale;
    let mut simulator = Simulator::new(config).expect("valid simulator config");
    (0..count)
        .map(|index| {
            let format = if index % 2 == 0 {
                LineFormat::Bare
            } else {
                LineFormat::Msys
            };
            let mut line = Vec::new();
            simulator.write_lines(&mut line, 1, format);
            line.pop(); // the newline
            line
        })
        .collect()
}

/// A variation of a simulated event that exercises one kind of normalisation.
fn variation(line: &[u8], which: usize) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(line).expect("simulated JSON");
    if let Some(inner) = value
        .get_mut("msys")
        .and_then(Value::as_object_mut)
        .and_then(|msys| msys.values_mut().next())
    {
        value = inner.take();
    }
    let fields = value.as_object_mut().expect("an event object");
    match which {
        0 => {
            fields.shift_remove("event_id");
        }
        1 => {
            fields.insert("timestamp".into(), json!(1_717_200_000.25));
        }
        2 => {
            fields.insert("timestamp".into(), json!("2024-06-01T02:00:00+02:00"));
        }
        3 => {
            if let Some(Value::String(rcpt_to)) = fields.get_mut("rcpt_to") {
                *rcpt_to = rcpt_to.to_uppercase();
            }
            fields.shift_remove("raw_rcpt_to");
            fields.shift_remove("recipient_domain");
        }
        4 => {
            for (name, value) in fields.iter_mut() {
                let number = match value {
                    Value::String(text) if field_kind(name) == Some(FieldKind::Integer) => {
                        text.parse::<u64>().ok()
                    }
                    _ => None,
                };
                if let Some(number) = number {
                    *value = json!(number);
                }
            }
        }
        5 => {
            for (name, value) in fields.iter_mut() {
                if field_kind(name) == Some(FieldKind::Boolean) {
                    if let Value::Bool(flag) = value {
                        *value = json!(if *flag { "1" } else { "false" });
                    }
                }
            }
        }
        6 => {
            fields.insert("subject".into(), Value::Null);
            fields.insert("x_unknown".into(), Value::Null);
        }
        7 => {
            let pretty = serde_json::to_string_pretty(&value).expect("serialises");
            return pretty.into_bytes();
        }
        _ => {
            // Escapes serde_json would not write, in a new field and in a nested one.
            let text = serde_json::to_string(&value).expect("serialises");
            let escaped =
                r#"{"x_note":"caf\u00e9 \/ \ud83d\ude00 \u001F","x_meta":{"k" : [1.50]},"#;
            return text.replacen('{', escaped, 1).into_bytes();
        }
    }
    serde_json::to_vec(&value).expect("serialises")
}

#[test]
fn twenty_thousand_simulated_events_match_the_value_tree_path() {
    let mut lines = simulated_lines(11, 10_000, 1.0);
    lines.extend(simulated_lines(12, 10_000, 0.001));
    let mut types = std::collections::BTreeSet::new();
    for line in &lines {
        assert!(
            assert_matches_reference(line),
            "fast path declined {}",
            shown(line)
        );
        types.insert(reference(line).expect("simulated events are valid").0);
    }
    assert!(types.len() >= 8, "too few event types: {types:?}");
}

#[test]
fn variations_of_simulated_events_match_the_value_tree_path() {
    let lines = simulated_lines(13, 1_800, 0.001);
    for (index, line) in lines.iter().enumerate() {
        let varied = variation(line, index % 9);
        assert!(
            assert_matches_reference(&varied),
            "fast path declined {}",
            shown(&varied)
        );
    }
}
