//! Output sinks for event fields: a fast JSON byte writer and a `serde_json::Value` builder.
//!
//! Event rendering is written once against [`FieldSink`]; both sinks produce the same JSON
//! (the byte writer's output equals `serde_json::to_vec` of the value the builder makes).

use chrono::{DateTime, Datelike, Timelike};
use serde_json::{Map, Number, Value};

/// A field name with its ready-made JSON form (`,"name":`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    json: &'static str,
}

impl Key {
    /// Use the [`key!`] macro, which builds `json` from `name` at compile time.
    pub(crate) const fn new(name: &'static str, json: &'static str) -> Key {
        Key { name, json }
    }
}

/// The [`Key`] for a literal field name.
macro_rules! key {
    ($name:literal) => {
        $crate::render::Key::new($name, concat!(",\"", $name, "\":"))
    };
}
pub(crate) use key;

/// Receives the fields of one event, in order.
pub(crate) trait FieldSink {
    /// Starts the event object.
    fn begin(&mut self);
    /// Ends the event object.
    fn end(&mut self);
    /// A string field.
    fn str(&mut self, key: Key, value: &str);
    /// An unsigned integer rendered as a JSON string (SparkPost's webhook convention).
    fn num_str(&mut self, key: Key, value: u64);
    /// A signed integer rendered as a JSON string.
    fn signed_str(&mut self, key: Key, value: i64) {
        if value < 0 {
            let mut buf = [0u8; 20];
            let digits = format_u64(value.unsigned_abs(), &mut buf);
            let mut text = [0u8; 21];
            text[0] = b'-';
            text[1..=digits.len()].copy_from_slice(digits.as_bytes());
            let s = std::str::from_utf8(&text[..=digits.len()]).unwrap_or("0");
            self.str(key, s);
        } else {
            self.num_str(key, value.unsigned_abs());
        }
    }
    /// A string field whose value is known to be printable ASCII needing no escape
    /// (digits, hex, timestamps).
    fn ascii_str(&mut self, key: Key, value: &[u8]) {
        self.str(key, std::str::from_utf8(value).unwrap_or_default());
    }
    /// A boolean field.
    fn bool(&mut self, key: Key, value: bool);
    /// An unsigned integer field rendered as a JSON number.
    fn u64(&mut self, key: Key, value: u64);
    /// A floating-point field rendered as a JSON number.
    fn f64(&mut self, key: Key, value: f64);
    /// An array of strings.
    fn str_array(&mut self, key: Key, values: &[&str]);
    /// Starts a nested object field.
    fn begin_object(&mut self, key: Key);
    /// Ends the innermost nested object.
    fn end_object(&mut self);
    /// Appends fields already rendered as JSON by a [`JsonSink`] (see
    /// [`JsonSink::continuing`]). Returns `false` if this sink cannot take raw JSON; the
    /// caller then writes the fields one by one.
    fn splice(&mut self, _json_fields: &[u8]) -> bool {
        false
    }
}

/// Writes `n` in decimal into the end of `buf`, returning the digits.
fn u64_digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub(crate) fn format_u64(n: u64, buf: &mut [u8; 20]) -> &str {
    // Only ASCII digits are written.
    std::str::from_utf8(u64_digits(n, buf)).unwrap_or("0")
}

/// Formats a unix time in microseconds as RFC 3339 UTC with milliseconds
/// (`2024-06-01T00:00:05.123Z`) into `buf`.
pub(crate) fn format_rfc3339_millis(unix_micros: i64, buf: &mut [u8; 24]) -> &str {
    let secs = unix_micros.div_euclid(1_000_000);
    // `rem_euclid` keeps it in 0..1_000_000: the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation)]
    let micros = unix_micros.rem_euclid(1_000_000) as u32;
    let dt = DateTime::from_timestamp(secs, micros * 1_000).unwrap_or_default();
    let fields: [(usize, u32, usize); 7] = [
        (0, dt.year().clamp(0, 9999) as u32, 4),
        (5, dt.month(), 2),
        (8, dt.day(), 2),
        (11, dt.hour(), 2),
        (14, dt.minute(), 2),
        (17, dt.second(), 2),
        (20, micros / 1_000, 3),
    ];
    buf.copy_from_slice(b"0000-00-00T00:00:00.000Z");
    for (at, mut value, width) in fields {
        for slot in buf[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000Z")
}

/// Whether any byte of `bytes` must be escaped in a JSON string: a control character,
/// `"` or `\\`. Scans eight bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Classic word tricks: "some byte is zero" and "some byte is below n" (exact for n <= 128).
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
        if control || has_zero(w ^ (ONES * 0x22)) || has_zero(w ^ (ONES * 0x5c)) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `value` as a JSON string literal, escaped exactly like `serde_json` does.
fn write_json_string(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        // The common case: nothing to escape.
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        write_escaped(out, bytes);
    }
}

fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes compact JSON straight into a byte buffer.
pub(crate) struct JsonSink<'a> {
    out: &'a mut Vec<u8>,
    /// Whether the next field needs a separating comma: the object being written already
    /// has a field. (Closing a nested object returns to a parent that has one.)
    comma: bool,
}

impl<'a> JsonSink<'a> {
    /// A sink appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        JsonSink { out, comma: false }
    }

    /// A sink appending fields to an object that already has fields (for fragments that
    /// are later [spliced](FieldSink::splice) into events).
    pub(crate) fn continuing(out: &'a mut Vec<u8>) -> Self {
        JsonSink { out, comma: true }
    }

    fn key(&mut self, key: Key) {
        let json = key.json.as_bytes();
        // `json` is `,"name":`; the comma is dropped for an object's first field.
        let json = if self.comma { json } else { &json[1..] };
        self.out.extend_from_slice(json);
        self.comma = true;
    }
}

impl FieldSink for JsonSink<'_> {
    fn begin(&mut self) {
        self.out.push(b'{');
        self.comma = false;
    }

    fn end(&mut self) {
        self.out.push(b'}');
        self.comma = true;
    }

    fn str(&mut self, key: Key, value: &str) {
        self.key(key);
        write_json_string(self.out, value);
    }

    fn num_str(&mut self, key: Key, value: u64) {
        self.key(key);
        let mut buf = [0u8; 20];
        let digits = u64_digits(value, &mut buf);
        self.out.reserve(digits.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(digits);
        self.out.push(b'"');
    }

    fn ascii_str(&mut self, key: Key, value: &[u8]) {
        debug_assert!(!needs_escape(value) && value.is_ascii());
        self.key(key);
        self.out.reserve(value.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(value);
        self.out.push(b'"');
    }

    fn bool(&mut self, key: Key, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn u64(&mut self, key: Key, value: u64) {
        self.key(key);
        let mut buf = [0u8; 20];
        self.out.extend_from_slice(u64_digits(value, &mut buf));
    }

    fn f64(&mut self, key: Key, value: f64) {
        self.key(key);
        match Number::from_f64(value) {
            Some(n) => self.out.extend_from_slice(n.to_string().as_bytes()),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn str_array(&mut self, key: Key, values: &[&str]) {
        self.key(key);
        self.out.push(b'[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_json_string(self.out, v);
        }
        self.out.push(b']');
    }

    fn begin_object(&mut self, key: Key) {
        self.key(key);
        self.begin();
    }

    fn end_object(&mut self) {
        self.end();
    }

    fn splice(&mut self, json_fields: &[u8]) -> bool {
        let fields = match json_fields.split_first() {
            Some((b',', rest)) if !self.comma => rest,
            _ => json_fields,
        };
        self.out.extend_from_slice(fields);
        self.comma |= !fields.is_empty();
        true
    }
}

/// Builds a `serde_json::Value` object.
#[derive(Default)]
pub(crate) struct ValueSink {
    stack: Vec<(Key, Map<String, Value>)>,
    done: Option<Value>,
}

impl ValueSink {
    /// The finished object (`Null` if nothing was written).
    pub(crate) fn into_value(self) -> Value {
        self.done.unwrap_or(Value::Null)
    }

    fn insert(&mut self, key: Key, value: Value) {
        if let Some((_, map)) = self.stack.last_mut() {
            map.insert(key.name.to_owned(), value);
        }
    }
}

impl FieldSink for ValueSink {
    fn begin(&mut self) {
        self.stack.push((key!("root"), Map::new()));
    }

    fn end(&mut self) {
        if let Some((_, map)) = self.stack.pop() {
            self.done = Some(Value::Object(map));
        }
    }

    fn str(&mut self, key: Key, value: &str) {
        self.insert(key, Value::String(value.to_owned()));
    }

    fn num_str(&mut self, key: Key, value: u64) {
        self.insert(key, Value::String(value.to_string()));
    }

    fn bool(&mut self, key: Key, value: bool) {
        self.insert(key, Value::Bool(value));
    }

    fn u64(&mut self, key: Key, value: u64) {
        self.insert(key, Value::Number(value.into()));
    }

    fn f64(&mut self, key: Key, value: f64) {
        let v = Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.insert(key, v);
    }

    fn str_array(&mut self, key: Key, values: &[&str]) {
        let items = values.iter().map(|v| Value::String((*v).to_owned()));
        self.insert(key, Value::Array(items.collect()));
    }

    fn begin_object(&mut self, key: Key) {
        self.stack.push((key, Map::new()));
    }

    fn end_object(&mut self) {
        if let Some((key, map)) = self.stack.pop() {
            self.insert(key, Value::Object(map));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_sample(sink: &mut impl FieldSink) {
        sink.begin();
        sink.str(key!("type"), "click");
        sink.str(key!("tricky"), "quote\" back\\ nl\n tab\t bell\u{7} é");
        sink.num_str(key!("event_id"), 123_456_789_012_345_678);
        sink.signed_str(key!("outbound_tls"), -1);
        sink.bool(key!("open_tracking"), true);
        sink.str_array(key!("rcpt_tags"), &["a", "b\"c"]);
        sink.str_array(key!("empty"), &[]);
        sink.begin_object(key!("geo_ip"));
        sink.str(key!("country"), "US");
        sink.f64(key!("latitude"), 41.0);
        sink.f64(key!("longitude"), -87.6298);
        sink.u64(key!("zip"), 60601);
        sink.end_object();
        sink.u64(key!("zero"), 0);
        sink.end();
    }

    #[test]
    fn byte_sink_matches_serde_json_of_value_sink() {
        let mut bytes = Vec::new();
        write_sample(&mut JsonSink::new(&mut bytes));
        let mut builder = ValueSink::default();
        write_sample(&mut builder);
        let value = builder.into_value();
        assert_eq!(String::from_utf8(bytes).unwrap(), value.to_string());
        assert_eq!(value["geo_ip"]["zip"], 60601);
        assert_eq!(value["outbound_tls"], "-1");
        assert_eq!(value["tricky"], "quote\" back\\ nl\n tab\t bell\u{7} é");
    }

    #[test]
    fn spliced_fragments_continue_the_object() {
        let mut fragment = Vec::new();
        let mut part = JsonSink::continuing(&mut fragment);
        part.str(key!("a"), "1");
        part.u64(key!("b"), 2);
        assert_eq!(fragment, b",\"a\":\"1\",\"b\":2");
        let mut out = Vec::new();
        let mut sink = JsonSink::new(&mut out);
        sink.begin();
        assert!(sink.splice(&fragment));
        sink.bool(key!("c"), true);
        sink.end();
        assert_eq!(out, b"{\"a\":\"1\",\"b\":2,\"c\":true}");
        assert!(!ValueSink::default().splice(&fragment));
    }

    #[test]
    fn escape_scan_finds_every_special_byte_at_every_position() {
        let plain = b"abcdefghijklmnopqrstuvwxyz0123456789-_.@ /:?=&%+~";
        assert!(!needs_escape(plain));
        assert!(!needs_escape("é ü 日本".as_bytes()));
        for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
            for at in 0..plain.len() {
                let mut v = plain.to_vec();
                v[at] = special;
                assert!(needs_escape(&v), "byte {special:#x} at {at}");
            }
        }
        assert!(!needs_escape(&[
            0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0x41
        ]));
    }

    #[test]
    fn format_u64_handles_edges() {
        let mut buf = [0u8; 20];
        assert_eq!(format_u64(0, &mut buf), "0");
        assert_eq!(format_u64(u64::MAX, &mut buf), u64::MAX.to_string());
        assert_eq!(format_u64(1_000, &mut buf), "1000");
    }

    #[test]
    fn rfc3339_matches_chrono() {
        let mut buf = [0u8; 24];
        for micros in [0_i64, 1_717_200_005_123_456, 951_782_400_999_999] {
            let expected = DateTime::from_timestamp_micros(micros)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(format_rfc3339_millis(micros, &mut buf), expected);
        }
    }
}
