//! Property tests: generated event lines (known fields with values of every kind and shape,
//! escapes, duplicate keys, envelopes, deep nesting) and byte mutations of them, each checked
//! against the value-tree path by [`assert_matches_reference`].

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use eventhose_test_support::json_edits::{edited, edits};
use eventhose_test_support::proptest_config as config;

use crate::testing::{assert_matches_reference, reference};
use crate::{EventType, FieldKind, FIELD_DICTIONARY};

/// Characters that matter to JSON strings, recipients and lower-casing.
fn character() -> BoxedStrategy<char> {
    prop_oneof![
        4 => select(&['a', 'Z', '0', '9', '@', '.', '-', ' '][..]),
        2 => select(&['"', '\\', '/', '\u{0}', '\u{8}', '\t', '\n', '\u{1f}', '\u{7f}'][..]),
        2 => select(&['é', 'É', 'ß', 'İ', '\u{212a}', 'ǅ', '😀', '\u{2028}', '\u{feff}'][..]),
        1 => any::<char>(),
    ]
    .boxed()
}

/// `text` as a JSON string, each character written as `styles` say: as itself when JSON
/// allows it, as a short escape, or as a `\u` escape (lower or upper case hex).
fn json_string(chars: &[(char, u8)]) -> String {
    let mut out = String::from("\"");
    for &(c, style) in chars {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = matches!(c, '"' | '\\') || c < ' ';
        match (style % 4, short) {
            (0, _) if !must_escape => out.push(c),
            (1, Some(short)) => out.push_str(short),
            (0, Some(short)) if must_escape => out.push_str(short),
            (3, _) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A JSON string of up to `max` characters written in assorted ways.
fn string(max: usize) -> BoxedStrategy<String> {
    vec((character(), any::<u8>()), 0..=max)
        .prop_map(|chars| json_string(&chars))
        .boxed()
}

/// `text` as a JSON string, mostly plain, sometimes with escapes.
fn spelled(text: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        3 => Just(format!("\"{text}\"")),
        1 => vec(any::<u8>(), text.chars().count())
            .prop_map(move |styles| json_string(&text.chars().zip(styles).collect::<Vec<_>>())),
    ]
    .boxed()
}

/// Strings JSON refuses or serde_json reads in its own way: lone surrogates, bad escapes,
/// raw control characters.
fn broken_string() -> BoxedStrategy<String> {
    select(
        &[
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud83d\u0041""#,
            r#""\x41""#,
            r#""\u12g4""#,
            "\"a\tb\"",
            "\"a\u{0}b\"",
            r#""unterminated"#,
            r#""\""#,
        ][..],
    )
    .prop_map(str::to_owned)
    .boxed()
}

/// Numbers in all the forms JSON allows, and a few it does not.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0u32..1_000).prop_map(|n| n.to_string()),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => (any::<i32>(), -400i32..400).prop_map(|(m, e)| format!("{m}e{e}")),
        1 => (any::<i32>(), 0u32..100_000).prop_map(|(m, f)| format!("{m}.{f}")),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        2 => select(
            &[
                "-0", "0.0", "-0.0", "1.0", "3.00", "1E+2", "1e-2", "-1.25e-3", "1e400", "-1e400",
                "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                "-9223372036854775809", "18446744073709551615", "18446744073709551616",
                "123456789012345678901234", "0.1e1", "10e0",
            ][..]
        )
        .prop_map(str::to_owned),
        1 => select(&["01", "+1", ".5", "1.", "-", "1e", "0x10", "NaN", "Infinity"][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// Text that an integer, decimal or timestamp field may be given as a string.
fn numeric_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => number().prop_map(|n| format!("\"{n}\"")),
        1 => select(
            &[
                "\"\"", "\" 5\"", "\"5 \"", "\"+3\"", "\"0379\"", "\"-0\"", "\"00\"", "\"1_000\"",
                "\"\u{663}\"", "\"\\u0037\"", "\"1\\u0030\"", "\"3.0\"", "\"0.50\"", "\"abc\"",
            ][..]
        )
        .prop_map(str::to_owned),
    ]
    .boxed()
}

/// RFC 3339 and nearby spellings, in and out of range.
fn date_time() -> BoxedStrategy<String> {
    (
        (
            select(&[0u32, 1, 1969, 1970, 2016, 2038, 9999, 10_000][..]),
            0u32..=13,
            0u32..=32,
        ),
        (0u32..=24, 0u32..=60, 0u32..=61),
        select(&["", ".0", ".000", ".123456789", ".9999999999", "."][..]),
        select(
            &[
                "Z", "z", "+00:00", "-00:00", "+02:00", "-12:30", "+2400", "+0200", "",
            ][..],
        ),
        select(&['T', 't', ' ', '_'][..]),
    )
        .prop_map(|((y, mo, d), (h, mi, s), fraction, offset, separator)| {
            format!("\"{y:04}-{mo:02}-{d:02}{separator}{h:02}:{mi:02}:{s:02}{fraction}{offset}\"")
        })
        .boxed()
}

/// `timestamp` values: numbers, numeric strings, date-times and things that are none of them.
fn timestamp() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0i64..=253_402_300_799).prop_map(|n| n.to_string()),
        2 => (0i64..=253_402_300_799).prop_map(|n| format!("\"{n}\"")),
        1 => (0u32..2_000_000_000, 0u32..1_000).prop_map(|(s, f)| format!("{s}.{f}")),
        2 => date_time(),
        1 => number(),
        1 => numeric_text(),
        1 => select(&["null", "true", "[1]", "{}", "\"last tuesday\"", "\"253402300800\""][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// `subaccount_id` (and other integer fields): valid, negative, huge, as numbers and strings.
fn integer() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0u32..100).prop_map(|n| n.to_string()),
        2 => (0u32..100).prop_map(|n| format!("\"{n}\"")),
        1 => any::<i64>().prop_map(|n| format!("\"{n}\"")),
        1 => select(
            &[
                "-1", "\"-1\"", "-0", "\"-0\"", "9223372036854775808", "\"99999999999999999999\"",
                "18446744073709551616", "3.0", "\"3.0\"", "1e2", "\"+7\"", "\"007\"",
            ][..]
        )
        .prop_map(str::to_owned),
        1 => number(),
        1 => numeric_text(),
    ]
    .boxed()
}

/// Boolean fields in SparkPost's and others' spellings.
fn boolean() -> BoxedStrategy<String> {
    select(
        &[
            "true",
            "false",
            "\"true\"",
            "\"false\"",
            "\"1\"",
            "\"0\"",
            "1",
            "0",
            "2",
            "-1",
            "1.0",
            "\"yes\"",
            "\"TRUE\"",
            "\"\"",
            "\"t\\u0072ue\"",
        ][..],
    )
    .prop_map(str::to_owned)
    .boxed()
}

/// Any JSON value, nested a few levels, with duplicate keys likely.
fn nested() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        number(),
        string(6),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            vec((select(&["a", "b", "type", "k"][..]), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(key, value)| format!("\"{key}\":{value}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
    .boxed()
}

/// Arrays and objects nested around the limit of [`crate::MAX_DEPTH`].
fn deep() -> BoxedStrategy<String> {
    (
        26usize..34,
        any::<bool>(),
        select(&["", "1", "{}", "[]", " "][..]),
    )
        .prop_map(|(levels, objects, core)| {
            if objects {
                format!("{}{core}{}", "{\"a\":".repeat(levels), "}".repeat(levels))
                    .replace("{\"a\": }", "{}")
                    .replace("{\"a\":}", "{}")
            } else {
                format!("{}{core}{}", "[".repeat(levels), "]".repeat(levels))
            }
        })
        .boxed()
}

/// Any value at all.
fn odd_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        2 => number(),
        2 => numeric_text(),
        3 => string(8),
        1 => broken_string(),
        1 => date_time(),
        2 => nested(),
        1 => deep(),
    ]
    .boxed()
}

/// A value suited to a field of `kind` (or not, a third of the time).
fn value_of(kind: Option<FieldKind>) -> BoxedStrategy<String> {
    let suited = match kind {
        Some(FieldKind::Text) | None => string(10).boxed(),
        Some(FieldKind::Integer) => integer().boxed(),
        Some(FieldKind::Decimal) => prop_oneof![number(), numeric_text()].boxed(),
        Some(FieldKind::Boolean) => boolean().boxed(),
        Some(FieldKind::Object) => prop_oneof![
            nested().prop_map(|v| format!("{{\"k\":{v}}}")),
            Just("{}".to_owned()),
            deep()
        ]
        .boxed(),
        Some(FieldKind::Array) => prop_oneof![
            nested().prop_map(|v| format!("[{v}]")),
            Just("[]".to_owned()),
            deep()
        ]
        .boxed(),
        Some(FieldKind::Timestamp) => timestamp().boxed(),
    };
    prop_oneof![2 => suited, 1 => odd_value()].boxed()
}

/// Field names the checks single out.
const SPECIAL: &[&str] = &[
    "type",
    "timestamp",
    "event_id",
    "message_id",
    "rcpt_to",
    "raw_rcpt_to",
    "recipient_domain",
    "rcpt_hash",
    "bounce_class",
    "subaccount_id",
    "msys",
];

/// One member beyond the base ones: a known, special or unknown name, its key sometimes
/// escaped, and a value for its kind.
fn member() -> BoxedStrategy<(String, String)> {
    let names: Vec<&'static str> = FIELD_DICTIONARY.iter().map(|spec| spec.name).collect();
    let name = prop_oneof![
        3 => select(names),
        2 => select(SPECIAL),
        1 => select(&["x", "x_note", "é", "", "Type", "type ", "\u{0}"][..]),
    ];
    name.prop_flat_map(|name| {
        let kind = FIELD_DICTIONARY
            .iter()
            .find(|spec| spec.name == name)
            .map(|spec| spec.kind);
        let value = match name {
            "type" => event_type().boxed(),
            "timestamp" => timestamp().boxed(),
            "event_id" => prop_oneof![integer(), string(4), odd_value()].boxed(),
            _ => value_of(kind),
        };
        let key = vec(any::<u8>(), name.chars().count()).prop_map(move |styles| {
            if styles.first().is_some_and(|style| style % 8 == 0) {
                json_string(&name.chars().zip(styles).collect::<Vec<_>>())
            } else {
                json_string(&name.chars().map(|c| (c, 0)).collect::<Vec<_>>())
            }
        });
        (key, value)
    })
    .boxed()
}

/// A `type` value: mostly a real type, spelled plainly or with escapes.
fn event_type() -> BoxedStrategy<String> {
    let names: Vec<&'static str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    prop_oneof![
        6 => select(names).prop_flat_map(spelled),
        1 => select(&["\"Delivery\"", "\"delivered\"", "\"\"", "null", "3"][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// A recipient address, mixed case and odd characters likely.
fn recipient() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(
            &[
                "\"a@b.example\"",
                "\"Jane.Doe@Example.COM\"",
                "\"ÜSER@ÉXAMPLE.com\"",
                "\"\u{130}@\u{212a}.org\"",
                "\"local-only\"",
                "\"trailing@\"",
                "\"@lead\"",
                "\"a@b@c\"",
                "\"\"",
                "\"J\\u0041NE@x.org\"",
            ][..]
        )
        .prop_map(str::to_owned),
        2 => string(12),
        1 => odd_value(),
    ]
    .boxed()
}

/// How tokens are separated: compact, or with any JSON whitespace.
fn spacing() -> BoxedStrategy<&'static str> {
    prop_oneof![4 => Just(""), 1 => select(&[" ", "\n  ", "\t", "\r\n", " \t "][..])].boxed()
}

/// A whole event object: the base members (each possibly left out), extra members, in a
/// shuffled order; and the event's type name, for its envelope.
fn event_object() -> BoxedStrategy<(String, Option<EventType>)> {
    let base = (
        prop::option::weighted(0.95, event_type()),
        prop::option::weighted(0.9, timestamp()),
        prop::option::weighted(0.9, prop_oneof![5 => spelled("m1"), 1 => odd_value()]),
        prop::option::weighted(0.9, recipient()),
        prop::option::weighted(0.5, value_of(Some(FieldKind::Integer))),
        prop::option::weighted(0.5, prop_oneof![integer(), string(6)]),
    );
    (base, vec(member(), 0..8), spacing())
        .prop_flat_map(
            |((kind, timestamp, message_id, rcpt_to, bounce_class, event_id), extra, space)| {
                let event_type = kind
                    .as_deref()
                    .and_then(|json| serde_json::from_str::<String>(json).ok())
                    .and_then(|name| name.parse::<EventType>().ok());
                let mut members: Vec<(String, String)> = [
                    ("\"type\"", kind),
                    ("\"timestamp\"", timestamp),
                    ("\"message_id\"", message_id),
                    ("\"rcpt_to\"", rcpt_to),
                    ("\"bounce_class\"", bounce_class),
                    ("\"event_id\"", event_id),
                ]
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                .collect();
                members.extend(extra);
                (Just(members).prop_shuffle(), Just(space), Just(event_type))
            },
        )
        .prop_map(|(members, space, event_type)| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{space}{key}{space}:{space}{value}{space}"))
                .collect();
            (format!("{{{}}}", members.join(",")), event_type)
        })
        .boxed()
}

/// A line: the bare event, or wrapped in well- and ill-formed `msys` envelopes.
fn line() -> BoxedStrategy<String> {
    (
        event_object(),
        0u8..16,
        select(&["track_event", "foo_event", "msys"][..]),
    )
        .prop_map(|((event, event_type), envelope, other_key)| {
            let key = event_type.map_or("message_event", |t| t.category().key());
            match envelope {
                0..=7 => event,
                8..=10 => format!(r#"{{"msys":{{"{key}":{event}}}}}"#),
                11 => format!(" {{ \"msys\" : {{ \"{key}\" : {event} }} }}\n"),
                12 => format!(r#"{{"msys":{{"{other_key}":{event}}}}}"#),
                13 => format!(r#"{{"msys":{{"{key}":{event},"{key}":{event}}}}}"#),
                14 => format!(r#"{{"msys":{{"{key}":{event}}},"x":1}}"#),
                _ => format!(r#"{{"msys":{{"{key}":{event}}}}}"#).replacen("}}", "} }", 1),
            }
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn generated_lines_match_the_value_tree_path(line in line()) {
        assert_matches_reference(line.as_bytes());
    }

    #[test]
    fn edited_lines_match_the_value_tree_path(line in line(), edits in edits()) {
        assert_matches_reference(&edited(&line, &edits));
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn arbitrary_bytes_match_the_value_tree_path(bytes in vec(any::<u8>(), 0..64)) {
        assert_matches_reference(&bytes);
    }
}

/// The generator is worth its cases only if many of its lines are valid and the fast path
/// takes many of them itself.
#[test]
fn generated_lines_are_often_valid_and_often_fast() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = line();
    let (mut valid, mut fast) = (0, 0);
    for _ in 0..500 {
        let line = strategy.new_tree(&mut runner).expect("a line").current();
        valid += usize::from(reference(line.as_bytes()).is_ok());
        fast += usize::from(assert_matches_reference(line.as_bytes()));
    }
    assert!(valid >= 50, "only {valid} of 500 generated lines are valid");
    assert!(
        fast >= 25,
        "the fast path took only {fast} of 500 generated lines"
    );
}
