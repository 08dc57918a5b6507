//! Property tests of the borrowing scanner against serde_json: generated objects (escapes,
//! unicode, numbers in every form, nesting, repeated keys, whitespace) and byte edits of them.

use super::differential::check;
use eventhose_test_support::json_edits::{edited, edits};
use eventhose_test_support::proptest_config as config;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Field names a search reads, and others.
const NAMES: &[&str] = &[
    "type",
    "timestamp",
    "subaccount_id",
    "bounce_class",
    "ab_test_version",
    "raw_rcpt_to",
    "event_id",
    "rcpt_to",
    "subject",
    "reason",
    "campaign_id",
    "message_id",
    "x",
    "rcpt_meta",
    "",
    "é",
];

/// A JSON string of `chars`, each written as itself, a short escape or a `\u` escape.
fn json_string(chars: &[(char, u8)]) -> String {
    let mut out = String::from("\"");
    for &(c, style) in chars {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            _ => None,
        };
        let must_escape = matches!(c, '"' | '\\') || c < ' ';
        match (style % 3, short) {
            (0, _) if !must_escape => out.push(c),
            (1, Some(short)) => out.push_str(short),
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

fn string() -> BoxedStrategy<String> {
    let character = prop_oneof![
        4 => select(&['a', '0', ' ', '@', '.'][..]),
        2 => select(&['"', '\\', '/', '\u{0}', '\u{8}', '\t', '\n', '\u{1f}', '\u{7f}'][..]),
        2 => select(&['é', 'ß', '😀', '\u{2028}', '\u{ffff}'][..]),
        1 => any::<char>(),
    ];
    vec((character, any::<u8>()), 0..8)
        .prop_map(|chars| json_string(&chars))
        .boxed()
}

/// Values JSON refuses or serde_json reads in its own way.
fn broken() -> BoxedStrategy<String> {
    select(
        &[
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\u12g4""#,
            r#""\x""#,
            "\"a\tb\"",
            "nul",
            "tru",
            "falsey",
            "NaN",
            "01",
            "-01",
            "+1",
            ".5",
            "1.",
            "1e",
            "1e+",
            "-",
            "00",
            "0x1",
            "1.5e3.2",
            "1e400",
            "-1e400",
        ][..],
    )
    .prop_map(str::to_owned)
    .boxed()
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => (any::<i32>(), -400i32..400).prop_map(|(m, e)| format!("{m}e{e}")),
        1 => (any::<i32>(), 0u32..10_000).prop_map(|(m, f)| format!("{m}.{f}")),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        2 => select(
            &[
                "0", "-0", "0.0", "-0.0", "1E+2", "1e-2", "2.5E-3", "1e308", "-1e-400",
                "18446744073709551616", "123456789012345678901234567890",
            ][..]
        )
        .prop_map(str::to_owned),
    ]
    .boxed()
}

fn value() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        4 => number(),
        8 => string(),
        1 => broken(),
    ];
    let nested = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (vec(inner.clone(), 0..4), space())
                .prop_map(|(items, s)| format!("[{s}{}{s}]", items.join(&format!("{s},{s}")))),
            (vec((string(), inner), 0..4), space()).prop_map(|(members, s)| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(key, value)| format!("{key}{s}:{s}{value}"))
                    .collect();
                format!("{{{s}{}{s}}}", members.join(","))
            }),
        ]
    });
    let deep = (28usize..36, any::<bool>()).prop_map(|(levels, objects)| {
        if objects {
            format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
        } else {
            format!("{}{}", "[".repeat(levels), "]".repeat(levels))
        }
    });
    prop_oneof![40 => nested, 1 => deep].boxed()
}

fn space() -> BoxedStrategy<&'static str> {
    prop_oneof![
        12 => Just(""),
        4 => select(&[" ", "\n", "\t", "\r\n "][..]),
        1 => select(&["\u{a0}", "\u{c}"][..]),
    ]
    .boxed()
}

/// A key: a name a search reads (repeats likely) or another, plain or escaped.
fn key() -> BoxedStrategy<String> {
    prop_oneof![
        12 => select(NAMES).prop_map(|name| format!("\"{name}\"")),
        1 => (select(NAMES), any::<u8>()).prop_map(|(name, style)| {
            json_string(&name.chars().map(|c| (c, style)).collect::<Vec<_>>())
        }),
        1 => string(),
    ]
    .boxed()
}

/// A stored event: one object of generated members, as written or with odd framing.
fn stored() -> BoxedStrategy<String> {
    (vec((key(), value()), 0..12), space(), 0u8..12)
        .prop_map(|(members, s, frame)| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{s}{key}{s}:{s}{value}{s}"))
                .collect();
            let object = format!("{{{}}}", members.join(","));
            match frame {
                0 => format!(" {object}\n"),
                1 => format!("{object} {object}"),
                2 => format!("[{object}]"),
                3 => format!("{},}}", &object[..object.len() - 1]),
                _ => object,
            }
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn generated_events_read_as_serde_json_reads_them(text in stored()) {
        check(text.as_bytes());
    }

    #[test]
    fn edited_events_read_as_serde_json_reads_them(text in stored(), edits in edits()) {
        check(&edited(&text, &edits));
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn arbitrary_bytes_read_as_serde_json_reads_them(bytes in vec(any::<u8>(), 0..48)) {
        check(&bytes);
    }
}

/// The comparison is not vacuous: the scanner reads many generated events itself.
#[test]
fn the_scanner_reads_many_generated_events() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = stored();
    let scanned = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).expect("an event").current();
            check(text.as_bytes())
        })
        .count();
    assert!(scanned >= 50, "the scanner read only {scanned} of 500");
}
