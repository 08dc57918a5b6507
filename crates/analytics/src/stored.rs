//! Reading the top-level fields of a stored event that a reader needs, without building its
//! value tree.
//!
//! A stored event carries 30–60 fields; a search reads 22 of them, the fold 22 (partly the
//! same ones). `serde_json::Value` would allocate every key and value of the event, and
//! serde_json's own deserializer is most of a reader's time even without that, so [`scan`]
//! walks the object once, hands back a borrowed [`Raw`] value for each wanted field and skips
//! the rest; [`read`] falls back to serde_json where the scanner is unsure. [`StoredFields`]
//! are the fields a search reads, interpreted as [`serde_json::Value`] would ([`Scalar`]).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Number;

use crate::TextFilter;

/// A top-level value of a stored event, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Raw<'a> {
    /// A string without escapes: the text between its quotes.
    Plain(&'a str),
    /// Any other value: its JSON text (as [`RawValue::get`] gives it).
    Json(&'a str),
}

impl<'a> Raw<'a> {
    fn from_json(json: &'a str) -> Raw<'a> {
        match json.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) if !inner.contains('\\') => Raw::Plain(inner),
            _ => Raw::Json(json),
        }
    }
}

/// The wanted fields of one stored event: `values[i]` is the field that the reader's `slot`
/// function maps to `i` (fields it maps to `None` are skipped).
#[derive(Debug, PartialEq)]
pub(crate) struct Fields<'a, const N: usize> {
    /// Each wanted field's value: the last one when the field repeats, as in `serde_json::Map`.
    pub(crate) values: [Option<Raw<'a>>; N],
    /// Whether a wanted field repeats (serde's derived readers refuse that).
    pub(crate) repeated: bool,
}

/// Reads the wanted fields of `stored`, which must be one JSON object: by [`scan`] when it can,
/// else by serde_json, whose result and error are the contract.
pub(crate) fn read<'a, const N: usize>(
    stored: &'a [u8],
    slot: impl Fn(&str) -> Option<usize>,
) -> Result<Fields<'a, N>, serde_json::Error> {
    match scan(stored, &slot) {
        Some(fields) => Ok(fields),
        None => read_by_serde(stored, &slot),
    }
}

/// The slow path of [`read`].
fn read_by_serde<'a, const N: usize>(
    stored: &'a [u8],
    slot: &impl Fn(&str) -> Option<usize>,
) -> Result<Fields<'a, N>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(stored);
    let fields = (&mut deserializer).deserialize_map(FieldsVisitor(slot))?;
    deserializer.end()?;
    Ok(fields)
}

/// The fast path of [`read`], several times faster than serde_json. Accepts only input that
/// serde_json reads to the same fields: one non-empty object in valid UTF-8, keys without
/// escapes, every value checked as serde_json checks it (`scan_reads_what_serde_json_reads`
/// tests this). `None` for anything else, so serde_json then reads or reports it.
///
/// Hand-written because no JSON crate both accepts exactly what serde_json accepts and hands
/// out borrowed values: a faster parser (simd-json, sonic-rs) would need the same fallback and
/// the same differential test, for more code and dependencies. (Inlined, so that `Fields` is
/// built in its caller's frame: as a call, it slowed the fold by several percent.)
#[inline]
pub(crate) fn scan<'a, const N: usize>(
    stored: &'a [u8],
    slot: impl Fn(&str) -> Option<usize>,
) -> Option<Fields<'a, N>> {
    // One check of the whole event is cheaper than one per string. serde_json accepts
    // invalid UTF-8 in skipped strings: such events take its path.
    scan_text(std::str::from_utf8(stored).ok()?, slot)
}

/// [`scan`] of an event already known to be UTF-8.
#[inline]
pub(crate) fn scan_text<'a, const N: usize>(
    text: &'a str,
    slot: impl Fn(&str) -> Option<usize>,
) -> Option<Fields<'a, N>> {
    let stored = text.as_bytes();
    let mut s = Scanner { text, at: 0 };
    let mut fields = Fields {
        values: [None; N],
        repeated: false,
    };
    s.expect(b'{')?;
    loop {
        s.expect(b'"')?;
        let key = s.plain_string()?;
        s.expect(b':')?;
        match slot(key).and_then(|i| fields.values.get_mut(i)) {
            Some(value) => {
                fields.repeated |= value.is_some();
                *value = Some(s.value()?);
            }
            None => s.skip_value(MAX_SKIP_DEPTH)?,
        }
        s.skip_whitespace();
        match s.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    s.skip_whitespace();
    (s.at == stored.len()).then_some(fields)
}
/// Reads an object's wanted fields for [`read_by_serde`]; skips the others unread, as the
/// scanner does.
struct FieldsVisitor<'s, S, const N: usize>(&'s S);

impl<'de, S: Fn(&str) -> Option<usize>, const N: usize> Visitor<'de> for FieldsVisitor<'_, S, N> {
    type Value = Fields<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de, N>, A::Error> {
        let mut fields = Fields {
            values: [None; N],
            repeated: false,
        };
        while let Some(slot) = map.next_key_seed(Key(self.0))? {
            match slot.and_then(|i| fields.values.get_mut(i)) {
                Some(value) => {
                    fields.repeated |= value.is_some();
                    *value = Some(Raw::from_json(map.next_value::<&'de RawValue>()?.get()));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// A field name, read as its slot without allocating.
struct Key<'s, S>(&'s S);

impl<'de, S: Fn(&str) -> Option<usize>> DeserializeSeed<'de> for Key<'_, S> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<S: Fn(&str) -> Option<usize>> Visitor<'_> for Key<'_, S> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        Ok((self.0)(name))
    }
}

/// Nesting deeper than this in a value is left to serde_json.
const MAX_SKIP_DEPTH: u32 = 32;

/// A position in a stored event, for [`scan`]. Every method returns `None` where serde_json
/// might read the input differently (or not at all).
struct Scanner<'a> {
    text: &'a str,
    /// A byte offset into `text`.
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then `byte`.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.next()? == byte).then_some(())
    }

    /// Skips `word` (`null`, `true`, `false`).
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes().get(self.at..)?.starts_with(word).then(|| {
            self.at += word.len();
        })
    }

    /// The rest of a string after its opening quote, if it ends before any escape or control
    /// character.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.at = string_end(self.bytes(), start);
        let text = self.text.get(start..self.at)?;
        (self.next()? == b'"').then_some(text)
    }

    /// Skips the rest of a string after its opening quote.
    fn skip_string(&mut self) -> Option<()> {
        loop {
            self.at = string_end(self.bytes(), self.at);
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = self.bytes().get(self.at..self.at + 4)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 4;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// A value, read as [`Raw::Plain`] when it is a string without escapes. (Inlined: as a
    /// call per wanted field, it slowed the fold by several percent.)
    #[inline(always)]
    fn value(&mut self) -> Option<Raw<'a>> {
        self.skip_whitespace();
        let start = self.at;
        if self.peek()? == b'"' {
            self.at = string_end(self.bytes(), start + 1);
            if self.peek()? == b'"' {
                self.at += 1;
                return self.text.get(start + 1..self.at - 1).map(Raw::Plain);
            }
            // An escape (or a control character, which `skip_string` refuses).
            self.skip_string()?;
        } else {
            self.skip_value(MAX_SKIP_DEPTH)?;
        }
        self.text.get(start..self.at).map(Raw::Json)
    }

    /// Skips any value, nested at most `depth` deep.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        self.skip_whitespace();
        match self.next()? {
            b'"' => self.skip_string(),
            b'n' => self.literal(b"ull"),
            b't' => self.literal(b"rue"),
            b'f' => self.literal(b"alse"),
            first @ (b'-' | b'0'..=b'9') => self.skip_number(first),
            open @ (b'[' | b'{') => {
                let depth = depth.checked_sub(1)?;
                let close = if open == b'[' { b']' } else { b'}' };
                self.skip_whitespace();
                if self.peek()? == close {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.expect(b'"')?;
                        self.skip_string()?;
                        self.expect(b':')?;
                    }
                    self.skip_value(depth)?;
                    self.skip_whitespace();
                    match self.next()? {
                        b',' => {}
                        byte if byte == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// Skips the rest of a number that starts with `first`.
    fn skip_number(&mut self, first: u8) -> Option<()> {
        let first = if first == b'-' { self.next()? } else { first };
        match first {
            // serde_json rejects leading zeros.
            b'0' if !matches!(self.peek(), Some(b'0'..=b'9')) => {}
            b'1'..=b'9' => {
                self.skip_digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.skip_digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.skip_digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Skips ASCII digits; returns how many.
    fn skip_digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }
}

/// The index of the first `"`, `\` or control character in `bytes` from `from` on, or
/// `bytes.len()`: where a JSON string ends or needs a closer look. Eight bytes at a time, with
/// the bit tricks serde_json uses: in each mask the lowest flagged byte is a true match.
fn string_end(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    let has_byte = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x
    };
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let found = (control | has_byte(word, b'"') | has_byte(word, b'\\')) & (ONES << 7);
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

/// Where the value of the top-level field `name` lies in `stored` (one JSON object), quotes
/// included, when the scanner reads the event and the field occurs once; `None` otherwise
/// (absent, repeated, or an event left to serde_json), for the caller's slower path.
pub fn value_span(stored: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let fields = scan_text::<1>(stored, |key| (key == name).then_some(0))?;
    if fields.repeated {
        return None;
    }
    let (text, quote) = match fields.values[0]? {
        Raw::Plain(text) => (text, 1),
        Raw::Json(json) => (json, 0),
    };
    // `text` is borrowed from `stored`.
    let start = (text.as_ptr() as usize).checked_sub(stored.as_ptr() as usize)?;
    Some(start - quote..start + text.len() + quote)
}

/// Slots after the text filters' fields (which take slots `0..TextFilter::COUNT`).
pub(crate) const TYPE: usize = TextFilter::COUNT;
pub(crate) const TIMESTAMP: usize = TYPE + 1;
pub(crate) const SUBACCOUNT_ID: usize = TYPE + 2;
pub(crate) const BOUNCE_CLASS: usize = TYPE + 3;
pub(crate) const AB_TEST_VERSION: usize = TYPE + 4;
pub(crate) const RAW_RCPT_TO: usize = TYPE + 5;
const SLOTS: usize = TYPE + 6;

/// The slot of a field name, if a search reads it (one `match`, as the scanner asks for every
/// field of every event).
fn slot(name: &str) -> Option<usize> {
    use TextFilter as F;
    let filter = match name {
        "type" => return Some(TYPE),
        "timestamp" => return Some(TIMESTAMP),
        "subaccount_id" => return Some(SUBACCOUNT_ID),
        "bounce_class" => return Some(BOUNCE_CLASS),
        "ab_test_version" => return Some(AB_TEST_VERSION),
        "raw_rcpt_to" => return Some(RAW_RCPT_TO),
        "event_id" => F::EventIds,
        "rcpt_to" => F::Recipients,
        "recipient_domain" => F::RecipientDomains,
        "friendly_from" => F::FromAddresses,
        "sending_domain" => F::SendingDomains,
        "subject" => F::Subjects,
        "reason" => F::Reasons,
        "campaign_id" => F::Campaigns,
        "template_id" => F::Templates,
        "sending_ip" => F::SendingIps,
        "ip_pool" => F::IpPools,
        "message_id" => F::Messages,
        "transmission_id" => F::Transmissions,
        "mailbox_provider" => F::MailboxProviders,
        "mailbox_provider_region" => F::MailboxProviderRegions,
        "ab_test_id" => F::AbTests,
        _ => return None,
    };
    Some(filter.index())
}

/// The fields of one stored event that a search reads, borrowed from it.
pub(crate) struct StoredFields<'a> {
    values: [Option<Raw<'a>>; SLOTS],
}

impl<'a> StoredFields<'a> {
    /// Reads `stored`, which must be one JSON object.
    pub(crate) fn read(stored: &'a [u8]) -> Result<Self, serde_json::Error> {
        let fields = read(stored, slot)?;
        Ok(StoredFields {
            values: fields.values,
        })
    }

    /// [`StoredFields::read`] of an event already known to be UTF-8 (checked once, not twice).
    pub(crate) fn read_text(stored: &'a str) -> Result<Self, serde_json::Error> {
        let fields = match scan_text(stored, slot) {
            Some(fields) => fields,
            None => read_by_serde(stored.as_bytes(), &slot)?,
        };
        Ok(StoredFields {
            values: fields.values,
        })
    }

    /// The value in `slot`, if the event has that field.
    pub(crate) fn get(&self, slot: usize) -> Option<Scalar<'a>> {
        self.values[slot].map(Scalar::of)
    }
}

/// A field's value, as far as searches distinguish values.
pub(crate) enum Scalar<'a> {
    /// A JSON string, unescaped.
    Text(Cow<'a, str>),
    /// A JSON number.
    Number(Number),
    /// `null`.
    Null,
    /// `true`, `false`, an object or an array.
    Other,
}

impl<'a> Scalar<'a> {
    /// Reads `raw` as [`serde_json::Value`] would.
    fn of(raw: Raw<'a>) -> Scalar<'a> {
        let json = match raw {
            Raw::Plain(text) => return Scalar::Text(Cow::Borrowed(text)),
            Raw::Json(json) => json,
        };
        match json.as_bytes().first() {
            // Escapes: let serde_json decode them (the raw text is valid JSON).
            Some(b'"') => serde_json::from_str::<String>(json)
                .map_or(Scalar::Other, |s| Scalar::Text(Cow::Owned(s))),
            Some(b'-' | b'0'..=b'9') => {
                serde_json::from_str::<Number>(json).map_or(Scalar::Other, Scalar::Number)
            }
            Some(b'n') => Scalar::Null,
            _ => Scalar::Other,
        }
    }

    /// The value as a `serde_json::Value` (for readers written against the value tree).
    pub(crate) fn to_value(&self) -> serde_json::Value {
        match self {
            Scalar::Text(text) => serde_json::Value::String(text.to_string()),
            Scalar::Number(number) => serde_json::Value::Number(number.clone()),
            Scalar::Null => serde_json::Value::Null,
            // Not read as times or numbers anyway; any non-scalar is refused alike.
            Scalar::Other => serde_json::Value::Bool(false),
        }
    }
}

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod differential;
#[cfg(test)]
mod proptests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Stored events for differential tests. The fold's scan reads the first three.
    pub(crate) const EVENTS: [&str; 4] = [
        concat!(
            r#"{"type":"delivery","event_id":"3317","timestamp":"1760000000","#,
            r#""message_id":"0c74b6","rcpt_to":"b.green@yahoo.com","#,
            r#""recipient_domain":"yahoo.com","mailbox_provider":"Yahoo","#,
            r#""mailbox_provider_region":"Global","sending_ip":"192.0.2.9","#,
            r#""subject":"We miss you: 20% off","msg_size":"40481","queue_time":"1200","#,
            r#""num_retries":"0","rcpt_meta":{"user_id":"U976137","#,
            r#""n":[1,-2.5e+3,0,true,false,null]},"subaccount_id":"3","#,
            r#""sending_domain":"supplyorbit.io","campaign_id":"winback-2","#,
            r#""template_id":"winback","ip_pool":"default","rcpt_tags":[],"#,
            r#""click_tracking":true}"#,
        ),
        concat!(
            r#"{"type":"click","timestamp":"1760000000","message_id":"m","#,
            r#""target_link_name":"Käufe","target_link_url":"https://x.example/ä","#,
            r#""prefetched":false,"user_agent":"Mozilla \"5.0\" \u00e9\/\n"}"#,
        ),
        " { \"type\" : \"open\" ,\n\"timestamp\":\"1760000000\", \"prefetched\" : null , \"x\" : { } , \"y\" : [ ] }\r\n",
        concat!(
            r#"{"type":"bounce","timestamp":1700000000,"event_id":"e1","rcpt_to":"Bob@X.com","#,
            r#""bounce_class":10,"subaccount_id":-7,"campaign_id":"Black\u002dFriday","#,
            r#""subject":"caf\u00e9 \"deals\"","reason":null,"ip_pool":["a",{"b":[]}],"#,
            r#""transmission_id":123,"message_id":1.5E-3,"template_id":true,"#,
            r#""campaign_id":"again","ab_test_version":"2"}"#,
        ),
    ];

    /// [`EVENTS`], odd inputs and seeded random edits of [`EVENTS`] with bytes that matter to
    /// JSON: what a scanner must read as serde_json does, or leave to it.
    pub(crate) fn differential_inputs() -> Vec<Vec<u8>> {
        let odd = [
            r#"{"type":"open","timestamp":"1","message_id":null,"message_id":"m"}"#,
            r#"{"type":"open","timestamp":"1","event_id":1,"event_id":2}"#,
            r#"{"type":"open","timestamp":"1","typ\u0065":"x"}"#,
            r#"{"type":"open","timestamp":"1"} x"#,
            r#"{"type":"open","timestamp":"1",}"#,
            r#"{"type":"open","timestamp":"1","x":[01]}"#,
            r#"{"type":"open","timestamp":"1","x":"\u12g4"}"#,
            r#"{"type":"open","timestamp":"1","subject":"\ud800","x":"\udc00"}"#,
            r#"{"type":"open","timestamp":1e400,"bounce_class":-0,"x":1e400}"#,
            r#"{"type":"open","timestamp":"1"#,
            r#"{"type":null,"timestamp":"1"}"#,
            r#"["open","1"]"#,
            r#"{"type":"open"}"#,
            "{}",
            "",
        ];
        let mut inputs: Vec<Vec<u8>> = EVENTS
            .iter()
            .chain(&odd)
            .map(|s| s.as_bytes().to_vec())
            .collect();
        inputs.push(b"{\"type\":\"open\",\"timestamp\":\"1\",\"x\":\"\xff\"}".to_vec());
        inputs.push(b"{\"type\":\"open\",\"timestamp\":\"1\",\"reason\":\"\xff\"}".to_vec());
        inputs.push(b"{\"type\":\"open\",\"timestamp\":\"1\",\"x\":\"a\tb\"}".to_vec());
        let deep = format!(r#"{{"type":{}1{}}}"#, "[".repeat(40), "]".repeat(40));
        inputs.push(deep.into_bytes());
        let alphabet = b"{}[]\",:\\ \n0-1.eE+tfnulx\x00\x1f\xc3\xa9\xff";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below as u64).unwrap()
        };
        for _ in 0..20_000 {
            let mut input = EVENTS[random(EVENTS.len())].as_bytes().to_vec();
            for _ in 0..1 + random(3) {
                let at = random(input.len());
                let byte = alphabet[random(alphabet.len())];
                match random(3) {
                    0 => input[at] = byte,
                    1 => drop(input.remove(at)),
                    _ => input.insert(at, byte),
                }
            }
            inputs.push(input);
        }
        inputs
    }

    /// Whatever the scanner accepts, serde_json reads to the same fields.
    #[test]
    fn scan_reads_what_serde_json_reads() {
        // Fields of every kind in `EVENTS`, and a slot past the end, which is skipped.
        let wanted = [
            "type",
            "timestamp",
            "event_id",
            "message_id",
            "subject",
            "user_agent",
            "campaign_id",
            "bounce_class",
            "subaccount_id",
            "prefetched",
            "ip_pool",
            "rcpt_meta",
            "x",
            "beyond",
        ];
        let slot = |name: &str| wanted.iter().position(|w| *w == name);
        for input in EVENTS {
            assert!(scan::<13>(input.as_bytes(), slot).is_some(), "{input}");
        }
        let (mut scanned, inputs) = (0, differential_inputs());
        for input in &inputs {
            if let Some(fast) = scan::<13>(input, slot) {
                let slow = read_by_serde(input, &slot);
                assert_eq!(Some(fast), slow.ok(), "{}", String::from_utf8_lossy(input));
                scanned += 1;
            }
        }
        // The random edits leave many events valid: the comparison is not vacuous.
        assert!(scanned > inputs.len() / 10, "{scanned} of {}", inputs.len());
    }

    #[test]
    fn every_text_filter_has_its_own_slot() {
        for filter in TextFilter::ALL {
            assert_eq!(slot(filter.field()), Some(filter.index()));
        }
        assert_eq!(slot("raw_rcpt_to"), Some(RAW_RCPT_TO));
        assert_eq!(slot("unknown"), None);
    }

    #[test]
    fn values_read_as_the_value_tree_reads_them() {
        let stored = br#"{"subject":"a\"b \u00e9","bounce_class":10,"reason":null,"campaign_id":"x","campaign_id":"y","ip_pool":{"a":[1]},"message_id":-1.5e3,"rest":[1,2,{"k":"v"}]}"#;
        let fields = StoredFields::read(stored).unwrap();
        let text = |slot: usize| match fields.get(slot) {
            Some(Scalar::Text(t)) => Some(t.into_owned()),
            _ => None,
        };
        assert_eq!(
            text(TextFilter::Subjects.index()).as_deref(),
            Some("a\"b é")
        );
        assert_eq!(text(TextFilter::Campaigns.index()).as_deref(), Some("y"));
        assert!(
            matches!(fields.get(BOUNCE_CLASS), Some(Scalar::Number(n)) if n.as_u64() == Some(10))
        );
        assert!(matches!(
            fields.get(TextFilter::Reasons.index()),
            Some(Scalar::Null)
        ));
        assert!(matches!(
            fields.get(TextFilter::IpPools.index()),
            Some(Scalar::Other)
        ));
        assert!(
            matches!(fields.get(TextFilter::Messages.index()), Some(Scalar::Number(n)) if n.to_string() == "-1500.0")
        );
        assert!(fields.get(TIMESTAMP).is_none());
    }

    #[test]
    fn value_spans_cover_the_whole_value() {
        let stored =
            r#"{"a":"x","timestamp" : "1460989507" ,"n":[1,{"timestamp":2}],"e":"\u00e9","t":12}"#;
        let span = |name| value_span(stored, name).map(|r| &stored[r]);
        assert_eq!(span("timestamp"), Some(r#""1460989507""#));
        assert_eq!(span("n"), Some(r#"[1,{"timestamp":2}]"#));
        assert_eq!(span("e"), Some(r#""\u00e9""#));
        assert_eq!(span("t"), Some("12"));
        assert_eq!(span("missing"), None);
        assert_eq!(value_span(r#"{"a":1,"a":2}"#, "a"), None);
        assert_eq!(value_span("not json", "a"), None);
    }

    #[test]
    fn anything_but_one_object_is_refused() {
        assert!(StoredFields::read(b"[1]").is_err());
        assert!(StoredFields::read(b"{} {}").is_err());
        assert!(StoredFields::read(b"{\"a\":").is_err());
    }
}
