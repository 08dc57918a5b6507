//! Differential tests: the fast path against the value-tree path it stands in for, on
//! hand-written edge cases (the simulator's crate runs the same check on simulated events).

use serde_json::Value;

use super::normalize;
use crate::testing::{assert_matches_reference, reference, shown};

/// A valid delivery with `extra` members appended.
fn delivery(extra: &str) -> String {
    format!(
        r#"{{"type":"delivery","timestamp":"1460989507","message_id":"m1","rcpt_to":"a@b.example","event_id":"9"{extra}}}"#
    )
}

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

/// Hand-written lines the fast path normalises itself.
fn fast_cases() -> Vec<String> {
    let mut cases = vec![
        delivery(""),
        delivery(r#","custom":{"a": [1, 2.50, "x"], "b" : null},"list":[ ]"#),
        delivery(r#","subject":"caf\u00e9 \/ \ud83d\ude00 \u001F \t \"q\"""#),
        delivery(r#","subject":"é😀","campaign_id":"\u0007""#),
        r#" { "type" : "delivery" , "timestamp" : 1460989507.9 , "message_id" : "m1" , "rcpt_to" : "a@b.example" } "#.to_owned(),
        r#"{"type":"delivery","timestamp":"2016-04-18T14:25:07.000+02:00","message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":"0001460989507","message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":"1460989507.75","message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":"\u0031460989507","message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"deliv\u0065ry","timestamp":0,"message_id":"m1","rcpt_hash":"2aae6c35"}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":1,"event_id":48575267555968293}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":1,"event_id":-5}"#.to_owned(),
        format!(r#"{{"type":"relay_injection","timestamp":1,"event_id":"{}"}}"#, "é".repeat(128)),
        r#"{"type":"relay_injection","timestamp":1,"event_id":"a\u0062c"}"#.to_owned(),
        delivery(r#","num_retries":3,"msg_size":"+3328","queue_time":"0379","outbound_tls":-1,"transmission_id":65832150921904138,"customer_id":12345678901234567890,"subaccount_id":"-0","ab_test_version":"\u0037""#),
        delivery(r#","open_tracking":"false","click_tracking":1,"amp_enabled":0,"initial_pixel":true,"transactional":"1""#),
        r#"{"type":"sms_status","timestamp":1,"dr_latency":0.25}"#.to_owned(),
        r#"{"type":"sms_status","timestamp":1,"dr_latency":"1.50"}"#.to_owned(),
        delivery(r#","subject":null,"rcpt_meta":null,"custom":null,"raw_rcpt_to":null"#),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"Jane.Doe@Example.COM"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"ÜSER@ÉXAMPLE.com","recipient_domain":null}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"J\u0041NE@x.org"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"we\"ird@x.org"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"local-only"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"trailing@"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"","rcpt_hash":"2aae6c35"}"#.to_owned(),
        r#"{"type":"injection","timestamp":1,"message_id":"m1","rcpt_to":"Jane@Example.com","raw_rcpt_to":"JANE@EXAMPLE.COM","recipient_domain":"Example.com"}"#.to_owned(),
        delivery(r#","n":1.5,"big":1e300,"neg0":-0,"int":-42,"huge":123456789012345678901234,"arr":[[[]]],"t":true,"nul":null,"obj":{"a":{"a":1},"b":{"a":2}}"#),
        delivery(r#","we\"ird":1,"new\nline":2,"ty\u0070e2":3,"\u00e9":4"#),
        delivery(r#","custom":{"a":1,"b":{"c":1,"c":2},"a":3}"#),
        delivery(r#","msys":{"message_event":{}}"#),
        format!(r#"{{"msys":{{"message_event":{}}}}}"#, delivery("")),
        format!(r#" {{ "msys" : {{ "message_event" : {} }} }} "#, delivery(r#","x": [ 1 ]"#)),
        r#"{"type":"bounce","timestamp":1,"message_id":"m1","rcpt_to":"a@b.example","bounce_class":10}"#.to_owned(),
        r#"{"type":"bounce","timestamp":1,"message_id":"m1","rcpt_to":"a@b.example","bounce_class":"010"}"#.to_owned(),
        r#"{"type":"out_of_band","timestamp":1,"message_id":"m1","bounce_class":"1"}"#.to_owned(),
        r#"{"type":"generation_failure","timestamp":1,"rcpt_to":"a@b.example"}"#.to_owned(),
        delivery(&format!(r#","custom":{}"#, nested(31))),
        delivery(&format!(r#","rcpt_meta":{{"a":{}}}"#, nested(30))),
        delivery(&format!(r#","custom":[ {} ]"#, nested(30))),
    ];
    let many: String = (0..40).map(|i| format!(r#","x{i}":{i}"#)).collect();
    cases.push(delivery(&many));
    cases
}

/// Hand-written lines the fast path leaves to the value-tree path, which accepts them.
fn accepted_fallback_cases() -> Vec<String> {
    let too_many: String = (0..70).map(|i| format!(r#","x{i}":{i}"#)).collect();
    vec![
        delivery(&too_many),
        delivery(r#","subject":"a","custom":1,"subject":"b""#),
        delivery(r#","custom":1,"custom":{"a":2}"#),
        delivery(r#","type":"delivery""#),
        delivery(r#","rcpt_to":"B@C.example""#),
        r#"{"type":"relay_injection","timestamp":1,"event_id":null,"x":1}"#.to_owned(),
        format!(
            r#"{{"msys":{{"message_event":{{"type":"delay"}},"message_event":{}}}}}"#,
            delivery("")
        ),
        format!(
            r#"{{"msys":1,"msys":{{"message_event":{}}}}}"#,
            delivery("")
        ),
    ]
}

/// Hand-written lines every path rejects.
fn rejected_cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = [
        r#"{"type":"#.to_owned(),
        String::new(),
        r#"{type: 'delivery'}"#.to_owned(),
        r#"{"a":1} trailing"#.to_owned(),
        "[1]".to_owned(),
        r#""delivery""#.to_owned(),
        "42".to_owned(),
        "null".to_owned(),
        "{}".to_owned(),
        delivery(",\"subject\":\"raw tab:\there\""),
        r#"{"timestamp":1,"message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":null,"timestamp":1}"#.to_owned(),
        r#"{"type":3,"timestamp":1}"#.to_owned(),
        r#"{"type":"delivered","timestamp":1}"#.to_owned(),
        r#"{"type":"relay_injection"}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":null}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":"last tuesday"}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":-5}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":"-5"}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":253402300800}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":18446744073709551615}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":[1]}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":true}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":1,"event_id":""}"#.to_owned(),
        format!(r#"{{"type":"relay_injection","timestamp":1,"event_id":"{}"}}"#, "x".repeat(129)),
        r#"{"type":"relay_injection","timestamp":1,"event_id":["1"]}"#.to_owned(),
        r#"{"type":"relay_injection","timestamp":1,"event_id":1.5}"#.to_owned(),
        format!(r#"{{"msys":{{"track_event":{}}}}}"#, delivery("")),
        format!(r#"{{"msys":{{"adaptive_event":{}}}}}"#, delivery("")),
        r#"{"msys":{}}"#.to_owned(),
        r#"{"msys":{"message_event":{},"track_event":{}}}"#.to_owned(),
        r#"{"msys":[]}"#.to_owned(),
        r#"{"msys":{"message_event":"delivery"}}"#.to_owned(),
        r#"{"msys":{"message_event":{"timestamp":1}}}"#.to_owned(),
        format!(r#"{{"msys":{{"message_event":{}}},"x":1}}"#, delivery("")),
        delivery(r#","subject":{"text":"hi"}"#),
        delivery(r#","subject":5"#),
        delivery(r#","rcpt_meta":"{\"a\":1}""#),
        delivery(r#","rcpt_tags":"vip""#),
        delivery(r#","open_tracking":"maybe""#),
        delivery(r#","open_tracking":2"#),
        delivery(r#","num_retries":"abc""#),
        delivery(r#","num_retries":1.5"#),
        delivery(r#","num_retries":"""#),
        delivery(r#","num_retries":"\u0061""#),
        delivery(r#","dr_latency":"fast""#),
        delivery(r#","bounce_class":"11""#),
        delivery(r#","bounce_class":70000"#),
        delivery(r#","bounce_class":"-1""#),
        r#"{"type":"bounce","timestamp":1,"message_id":"m1","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"bounce","timestamp":1,"message_id":"m1","rcpt_to":"a@b.example","bounce_class":null}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":"","rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":null,"rcpt_to":"a@b.example"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":"m1"}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":"m1","rcpt_to":""}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":"m1","rcpt_to":7}"#.to_owned(),
        r#"{"type":"delivery","timestamp":1,"message_id":"m1","rcpt_to":"\ud800@x.org"}"#.to_owned(),
        delivery(&format!(r#","custom":{}"#, nested(32))),
        delivery(&format!(r#","rcpt_meta":{{"a":{}}}"#, nested(31))),
        delivery(&format!(r#","custom":[ {} ]"#, nested(31))),
        delivery(&format!(r#","custom":{}"#, nested(10_000))),
        delivery(&format!(r#","custom":{}1{}"#, "[ ".repeat(10_000), "]".repeat(10_000))),
        delivery(r#","x":1e400"#),
        delivery(r#","x":[1,{"y":-1e400}]"#),
        delivery(r#","x":"\ud800""#),
        delivery(r#","x":{"k":"\udc00"}"#),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let mut invalid_utf8 = delivery(r#","subject":"?""#).into_bytes();
    let question = invalid_utf8
        .iter()
        .rposition(|&b| b == b'?')
        .expect("marker");
    invalid_utf8[question] = 0xff;
    cases.push(invalid_utf8);
    cases
}

#[test]
fn edge_cases_the_fast_path_handles_match_the_value_tree_path() {
    for line in fast_cases() {
        assert!(
            reference(line.as_bytes()).is_ok(),
            "case should be valid: {line}"
        );
        assert!(
            assert_matches_reference(line.as_bytes()),
            "fast path declined {line}"
        );
    }
}

/// Found by fuzzing: numbers that serde_json's default parser read one bit off the nearest
/// double, so the shortest form written for them read back as another double, and the event
/// `parse_ingest` returned (read back from the storage form) differed from the value tree's.
#[test]
fn numbers_read_back_from_the_storage_form_unchanged() {
    for number in [
        "184467440468547758080772313",
        "-184467440468547758080772313",
        "1844674404685477580807.72313",
    ] {
        let line = delivery(&format!(r#","x":{number},"custom":{{"n":[{number}]}}"#));
        assert!(
            assert_matches_reference(line.as_bytes()),
            "fast path declined {line}"
        );
    }
}

#[test]
fn edge_cases_left_to_the_value_tree_path_get_its_result() {
    for line in accepted_fallback_cases() {
        assert!(
            reference(line.as_bytes()).is_ok(),
            "case should be valid: {line}"
        );
        assert!(
            !assert_matches_reference(line.as_bytes()),
            "fast path took {line}"
        );
    }
}

#[test]
fn rejected_lines_get_the_value_tree_paths_errors() {
    for line in rejected_cases() {
        assert!(
            reference(&line).is_err(),
            "case should be invalid: {}",
            shown(&line)
        );
        assert!(!assert_matches_reference(&line));
    }
}

#[test]
fn a_missing_id_is_derived_from_the_content() {
    let without_id = br#"{"type":"relay_injection","timestamp":1}"#;
    let rejected = br#"{"type":"delivery","timestamp":1}"#;
    assert!(normalize(rejected).is_none());
    let first = normalize(without_id).expect("accepted");
    let again = normalize(without_id).expect("accepted");
    let other = normalize(br#"{"type":"relay_injection","timestamp":2}"#).expect("accepted");
    let id = |bytes: &[u8]| -> u64 {
        let value: Value = serde_json::from_slice(bytes).expect("valid JSON");
        value["event_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a numeric id")
    };
    assert_eq!(
        id(&first.bytes),
        id(&again.bytes),
        "a retried line keeps its id"
    );
    assert_ne!(id(&first.bytes), id(&other.bytes));
    let without: &[u8] = br#"{"type":"relay_injection","timestamp":"1"}"#;
    assert_eq!(
        id(&first.bytes).to_string(),
        crate::content_event_id(without),
        "the id is the hash of the storage form without it"
    );
}
