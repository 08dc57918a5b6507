//! The field dictionary: every known event field with its kind, description and sample value.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JSON shape a known field must have (after normalisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A JSON string.
    Text,
    /// An integer; stored as its decimal string, as SparkPost webhooks send it.
    Integer,
    /// A decimal number; stored as its decimal string.
    Decimal,
    /// A JSON boolean.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// A point in time, stored as a string (unix seconds or RFC 3339).
    Timestamp,
}

impl FieldKind {
    /// Lower-case name of the kind, e.g. `"integer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Boolean => "boolean",
            FieldKind::Object => "object",
            FieldKind::Array => "array",
            FieldKind::Timestamp => "timestamp",
        }
    }

    /// The kind with an article, as used in error messages, e.g. `"an integer"`.
    pub fn with_article(self) -> &'static str {
        match self {
            FieldKind::Text => "a string",
            FieldKind::Integer => "an integer",
            FieldKind::Decimal => "a decimal number",
            FieldKind::Boolean => "a boolean",
            FieldKind::Object => "an object",
            FieldKind::Array => "an array",
            FieldKind::Timestamp => "a timestamp",
        }
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the field dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field name, e.g. `"bounce_class"`.
    pub name: &'static str,
    /// The shape its value must have.
    pub kind: FieldKind,
    /// The documented description.
    pub description: &'static str,
    /// The documented sample value, as JSON text in normalised form.
    pub sample_json: &'static str,
}

impl FieldSpec {
    /// The sample value parsed from [`sample_json`](FieldSpec::sample_json).
    pub fn sample(&self) -> Option<Value> {
        serde_json::from_str(self.sample_json).ok()
    }
}

/// The dictionary indexed by name. Every field of every event is looked up here on ingest,
/// so this is a hash map with a fast non-cryptographic hash (the keys are our own constants).
/// Values are positions in [`FIELD_DICTIONARY`].
static FIELD_INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        FIELD_DICTIONARY
            .iter()
            .enumerate()
            .map(|(position, spec)| (spec.name, position))
            .collect()
    });

/// The position of a known field in [`FIELD_DICTIONARY`] with its entry.
pub(crate) fn field_entry(name: &str) -> Option<(usize, &'static FieldSpec)> {
    let position = *FIELD_INDEX.get(name)?;
    FIELD_DICTIONARY.get(position).map(|spec| (position, spec))
}

/// Looks up a field's dictionary entry.
pub fn field_spec(name: &str) -> Option<&'static FieldSpec> {
    field_entry(name).map(|(_, spec)| spec)
}

/// The kind of a known field; `None` for fields outside the dictionary.
pub fn field_kind(name: &str) -> Option<FieldKind> {
    field_spec(name).map(|spec| spec.kind)
}

/// The documented description of a known field.
pub fn field_description(name: &str) -> Option<&'static str> {
    field_spec(name).map(|spec| spec.description)
}

/// The documented sample value of a known field, in normalised form.
pub fn field_sample(name: &str) -> Option<Value> {
    field_spec(name).and_then(FieldSpec::sample)
}

/// Every known field, sorted by name: the documented dictionary plus `type` and the extra fields
/// seen in official samples (`accept_language`, `node_name`, `mailbox_provider`,
/// `mailbox_provider_region`).
pub const FIELD_DICTIONARY: &[FieldSpec] = &[
    FieldSpec {
        name: "ab_test",
        kind: FieldKind::Object,
        description: "Metadata describing an A/B test",
        sample_json: r#"{"engagement_metric":"count_unique_clicked","test_mode":"bayesian","name":"Password Reset","default_template":{"count_unique_clicked":10,"count_accepted":50,"template_id":"templ-1234","engagement_rate":0.2},"id":"password-reset","variants":[{"count_unique_clicked":10,"count_accepted":50,"template_id":"templ-5678","engagement_rate":0.2}],"version":1}"#,
    },
    FieldSpec {
        name: "ab_test_id",
        kind: FieldKind::Text,
        description: "A/B test of which this event was a part.",
        sample_json: r#""password-reset""#,
    },
    FieldSpec {
        name: "ab_test_version",
        kind: FieldKind::Integer,
        description: "A/B test version that was used for this event.",
        sample_json: r#""1""#,
    },
    FieldSpec {
        name: "accept_language",
        kind: FieldKind::Text,
        description: "Value of the browser's Accept-Language header",
        sample_json: r#""en-US,en;q=0.8""#,
    },
    FieldSpec {
        name: "amp_enabled",
        kind: FieldKind::Boolean,
        description: "Indicates whether or not amp format was enabled",
        sample_json: r#"true"#,
    },
    FieldSpec {
        name: "batch_id",
        kind: FieldKind::Text,
        description: "Universally unique identifier",
        sample_json: r#""96500f4d-d4f4-4f1b-8080-02f4682184bb""#,
    },
    FieldSpec {
        name: "bounce_class",
        kind: FieldKind::Integer,
        description: "Classification code for a given message (see [Bounce Classification Codes](https://support.sparkpost.com/customer/portal/articles/1929896))",
        sample_json: r#""1""#,
    },
    FieldSpec {
        name: "campaign_id",
        kind: FieldKind::Text,
        description: "Campaign of which this message was a part",
        sample_json: r#""Example Campaign Name""#,
    },
    FieldSpec {
        name: "click_tracking",
        kind: FieldKind::Boolean,
        description: "Indicates whether or not click tracking was enabled",
        sample_json: r#"true"#,
    },
    FieldSpec {
        name: "customer_id",
        kind: FieldKind::Integer,
        description: "SparkPost-customer identifier through which this message was sent",
        sample_json: r#""1""#,
    },
    FieldSpec {
        name: "delv_method",
        kind: FieldKind::Text,
        description: "Protocol by which SparkPost delivered this message",
        sample_json: r#""esmtp""#,
    },
    FieldSpec {
        name: "device_token",
        kind: FieldKind::Text,
        description: "Token of the device / application targeted by this PUSH notification message. Applies only when delv_method is gcm or apn.",
        sample_json: r#""45c19189783f867973f6e6a5cca60061ffe4fa77c547150563a1192fa9847f8a""#,
    },
    FieldSpec {
        name: "dr_latency",
        kind: FieldKind::Decimal,
        description: "Delivery report latency; interval between message submission and receipt",
        sample_json: r#""0.02""#,
    },
    FieldSpec {
        name: "error_code",
        kind: FieldKind::Integer,
        description: "Error code by which the remote server described a failed delivery attempt",
        sample_json: r#""554""#,
    },
    FieldSpec {
        name: "error_type",
        kind: FieldKind::Text,
        description: "Category of error that was encountered in processing",
        sample_json: r#""validation""#,
    },
    FieldSpec {
        name: "event_id",
        kind: FieldKind::Text,
        description: "Unique event identifier",
        sample_json: r#""0e5cf1fc-cb36-4c39-b695-3651b6ea6563""#,
    },
    FieldSpec {
        name: "expiration_timestamp",
        kind: FieldKind::Timestamp,
        description: "The time at which an ingest batch is no longer retrievable",
        sample_json: r#""2019-06-16T19:02:09.373Z""#,
    },
    FieldSpec {
        name: "fbtype",
        kind: FieldKind::Text,
        description: "Type of spam report entered against this message (see [RFC 5965 § 7.3](http://tools.ietf.org/html/rfc5965#section-7.3))",
        sample_json: r#""abuse""#,
    },
    FieldSpec {
        name: "friendly_from",
        kind: FieldKind::Text,
        description: "Friendly sender or 'From' header in the original email",
        sample_json: r#""sender@example.com""#,
    },
    FieldSpec {
        name: "geo_ip",
        kind: FieldKind::Object,
        description: "Geographic location based on the IP address, including latitude, longitude, city, country, region, and zip",
        sample_json: r#"{"zip":21046,"country":"US","city":"Columbia","latitude":39.1749,"region":"MD","postal_code":"21046","longitude":-76.8375}"#,
    },
    FieldSpec {
        name: "href",
        kind: FieldKind::Text,
        description: "A reference to a failed batch",
        sample_json: r#""https://api.sparkpost.com/api/v1/ingest/events/failures/fbd59e4c-1629-4736-803d-201ff9fa8dd6""#,
    },
    FieldSpec {
        name: "initial_pixel",
        kind: FieldKind::Boolean,
        description: "Indicates whether or not initial open pixel tracking was enabled",
        sample_json: r#"true"#,
    },
    FieldSpec {
        name: "injection_time",
        kind: FieldKind::Timestamp,
        description: "Time at which this message was injected into SparkPost",
        sample_json: r#""2016-04-18T14:25:07.000Z""#,
    },
    FieldSpec {
        name: "ip_address",
        kind: FieldKind::Text,
        description: "IP address of the host to which SparkPost delivered this message; in engagement events, the IP address of the host where the HTTP request originated",
        sample_json: r#""127.0.0.1""#,
    },
    FieldSpec {
        name: "ip_pool",
        kind: FieldKind::Text,
        description: "IP pool through which this message was sent",
        sample_json: r#""example-ip-pool""#,
    },
    FieldSpec {
        name: "mailbox_provider",
        kind: FieldKind::Text,
        description: "Mailbox provider hosting the recipient's mailbox",
        sample_json: r#""Gsuite""#,
    },
    FieldSpec {
        name: "mailbox_provider_region",
        kind: FieldKind::Text,
        description: "Region of the mailbox provider hosting the recipient's mailbox",
        sample_json: r#""Europe - UK""#,
    },
    FieldSpec {
        name: "mailfrom",
        kind: FieldKind::Text,
        description: "Envelope mailfrom of the original email",
        sample_json: r#""recipient@example.com""#,
    },
    FieldSpec {
        name: "message_id",
        kind: FieldKind::Text,
        description: "SparkPost-cluster-wide unique identifier for this message",
        sample_json: r#""000443ee14578172be22""#,
    },
    FieldSpec {
        name: "msg_from",
        kind: FieldKind::Text,
        description: "Sender address used on this message's SMTP envelope",
        sample_json: r#""sender@example.com""#,
    },
    FieldSpec {
        name: "msg_size",
        kind: FieldKind::Integer,
        description: "Message's size in bytes",
        sample_json: r#""1337""#,
    },
    FieldSpec {
        name: "node_name",
        kind: FieldKind::Text,
        description: "Name of the MTA node that logged this event",
        sample_json: r#""mta1""#,
    },
    FieldSpec {
        name: "num_retries",
        kind: FieldKind::Integer,
        description: "Number of failed attempts before this message was successfully delivered; when the first attempt succeeds, zero",
        sample_json: r#""2""#,
    },
    FieldSpec {
        name: "number_duplicates",
        kind: FieldKind::Integer,
        description: "How many events were already processed in a previous batch",
        sample_json: r#""350""#,
    },
    FieldSpec {
        name: "number_failed",
        kind: FieldKind::Integer,
        description: "How many events failed processing",
        sample_json: r#""50""#,
    },
    FieldSpec {
        name: "number_succeeded",
        kind: FieldKind::Integer,
        description: "How many events succeeded processing",
        sample_json: r#""500""#,
    },
    FieldSpec {
        name: "open_tracking",
        kind: FieldKind::Boolean,
        description: "Indicates whether or not open tracking was enabled",
        sample_json: r#"true"#,
    },
    FieldSpec {
        name: "origination",
        kind: FieldKind::Text,
        description: "Source of the event",
        sample_json: r#""inbound""#,
    },
    FieldSpec {
        name: "outbound_tls",
        kind: FieldKind::Integer,
        description: "Whether a message was sent using TLS or not. Specifies if a message wasn't sent with TLS either because no TLS was offered or TLS negotiation failed. 1 means TLS was used, 0 means TLS was not offered, -1 means TLS negotiation failed",
        sample_json: r#""-1""#,
    },
    FieldSpec {
        name: "queue_time",
        kind: FieldKind::Integer,
        description: "Delay, expressed in milliseconds, between this message's injection into SparkPost and its delivery to the receiving domain; that is, the length of time this message spent in the outgoing queue",
        sample_json: r#""12""#,
    },
    FieldSpec {
        name: "raw_rcpt_to",
        kind: FieldKind::Text,
        description: "Actual recipient address used on this message's SMTP envelope",
        sample_json: r#""recipient@example.com""#,
    },
    FieldSpec {
        name: "raw_reason",
        kind: FieldKind::Text,
        description: "Unmodified, exact response returned by the remote server due to a failed delivery attempt",
        sample_json: r#""MAIL REFUSED - IP (17.99.99.99) is in black list""#,
    },
    FieldSpec {
        name: "rcpt_hash",
        kind: FieldKind::Text,
        description: "Hashed version of recipient address used on this message's SMTP envelope",
        sample_json: r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#,
    },
    FieldSpec {
        name: "rcpt_meta",
        kind: FieldKind::Object,
        description: "Metadata describing the message recipient",
        sample_json: r#"{"customKey":"customValue"}"#,
    },
    FieldSpec {
        name: "rcpt_subs",
        kind: FieldKind::Object,
        description: "Substitutions applied to the template to construct this message",
        sample_json: r#"{"country":"US","gender":"Female"}"#,
    },
    FieldSpec {
        name: "rcpt_tags",
        kind: FieldKind::Array,
        description: "Tags applied to the message which generated this event",
        sample_json: r#"["male","US"]"#,
    },
    FieldSpec {
        name: "rcpt_to",
        kind: FieldKind::Text,
        description: "Lowercase version of recipient address used on this message's SMTP envelope",
        sample_json: r#""recipient@example.com""#,
    },
    FieldSpec {
        name: "rcpt_type",
        kind: FieldKind::Text,
        description: "Indicates that a recipient address appeared in the Cc or Bcc header or the archive JSON array",
        sample_json: r#""cc""#,
    },
    FieldSpec {
        name: "reason",
        kind: FieldKind::Text,
        description: "Canonicalized text of the response returned by the remote server due to a failed delivery attempt",
        sample_json: r#""MAIL REFUSED - IP (a.b.c.d) is in black list""#,
    },
    FieldSpec {
        name: "recipient_domain",
        kind: FieldKind::Text,
        description: "Domain part of the recipient address used on this message's SMTP envelope",
        sample_json: r#""example.com""#,
    },
    FieldSpec {
        name: "recv_method",
        kind: FieldKind::Text,
        description: "Protocol by which SparkPost received this message",
        sample_json: r#""esmtp""#,
    },
    FieldSpec {
        name: "relay_id",
        kind: FieldKind::Text,
        description: "Unique identifier of the Relay Webhook associated with this message (uuid)",
        sample_json: r#""123-456-789""#,
    },
    FieldSpec {
        name: "remote_addr",
        kind: FieldKind::Text,
        description: "IP address of the host from which SparkPost received this message",
        sample_json: r#""127.0.0.1""#,
    },
    FieldSpec {
        name: "report_by",
        kind: FieldKind::Text,
        description: "Address of the entity reporting this message as spam",
        sample_json: r#""server.email.com""#,
    },
    FieldSpec {
        name: "report_to",
        kind: FieldKind::Text,
        description: "Address to which this spam report is to be delivered",
        sample_json: r#""abuse.example.com""#,
    },
    FieldSpec {
        name: "retryable",
        kind: FieldKind::Boolean,
        description: "Indicates if an error retryable",
        sample_json: r#"false"#,
    },
    FieldSpec {
        name: "routing_domain",
        kind: FieldKind::Text,
        description: "Domain receiving this message",
        sample_json: r#""example.com""#,
    },
    FieldSpec {
        name: "scheduled_time",
        kind: FieldKind::Timestamp,
        description: "Time at which the email was scheduled to be sent",
        sample_json: r#""1588348800""#,
    },
    FieldSpec {
        name: "sending_domain",
        kind: FieldKind::Text,
        description: "Domain part of the sender or 'From' header in the original email",
        sample_json: r#""example.com""#,
    },
    FieldSpec {
        name: "sending_ip",
        kind: FieldKind::Text,
        description: "IP address through which this message was sent",
        sample_json: r#""127.0.0.1""#,
    },
    FieldSpec {
        name: "sms_coding",
        kind: FieldKind::Text,
        description: "Data encoding used in the SMS message",
        sample_json: r#""ASCII""#,
    },
    FieldSpec {
        name: "sms_dst",
        kind: FieldKind::Text,
        description: "SMS destination address",
        sample_json: r#""7876712656""#,
    },
    FieldSpec {
        name: "sms_dst_npi",
        kind: FieldKind::Text,
        description: "Destination numbering plan identification",
        sample_json: r#""E164""#,
    },
    FieldSpec {
        name: "sms_dst_ton",
        kind: FieldKind::Text,
        description: "Type of number for the destination address",
        sample_json: r#""International""#,
    },
    FieldSpec {
        name: "sms_remoteids",
        kind: FieldKind::Array,
        description: "The message ID(s) in the response, assigned by the remote server/SMSC",
        sample_json: r#"["0000","0001","0002","0003","0004"]"#,
    },
    FieldSpec {
        name: "sms_segments",
        kind: FieldKind::Integer,
        description: "Segment number of the log line for large messages sent through multiple SMSes",
        sample_json: r#""5""#,
    },
    FieldSpec {
        name: "sms_src",
        kind: FieldKind::Text,
        description: "SMS source address",
        sample_json: r#""1234""#,
    },
    FieldSpec {
        name: "sms_src_npi",
        kind: FieldKind::Text,
        description: "Source numbering plan identification",
        sample_json: r#""E164""#,
    },
    FieldSpec {
        name: "sms_src_ton",
        kind: FieldKind::Text,
        description: "Type of number for the source address",
        sample_json: r#""Unknown""#,
    },
    FieldSpec {
        name: "sms_text",
        kind: FieldKind::Text,
        description: "The SMS message payload (in the character set specified in sms_coding)",
        sample_json: r#""lol""#,
    },
    FieldSpec {
        name: "stat_state",
        kind: FieldKind::Text,
        description: "Status value in an SMS status event",
        sample_json: r#""Delivered""#,
    },
    FieldSpec {
        name: "stat_type",
        kind: FieldKind::Text,
        description: "Status type in an SMS status event",
        sample_json: r#""SMSC Delivery""#,
    },
    FieldSpec {
        name: "subaccount_id",
        kind: FieldKind::Integer,
        description: "Unique subaccount identifier.",
        sample_json: r#""101""#,
    },
    FieldSpec {
        name: "subject",
        kind: FieldKind::Text,
        description: "Subject line from the email header",
        sample_json: r#""Summer deals are here!""#,
    },
    FieldSpec {
        name: "target_link_name",
        kind: FieldKind::Text,
        description: "Name of the link for which a click event was generated",
        sample_json: r#""Example Link Name""#,
    },
    FieldSpec {
        name: "target_link_url",
        kind: FieldKind::Text,
        description: "URL of the link for which a click event was generated",
        sample_json: r#""http://example.com""#,
    },
    FieldSpec {
        name: "template_id",
        kind: FieldKind::Text,
        description: "Slug of the template used to construct this message",
        sample_json: r#""templ-1234""#,
    },
    FieldSpec {
        name: "template_version",
        kind: FieldKind::Integer,
        description: "Version of the template used to construct this message",
        sample_json: r#""1""#,
    },
    FieldSpec {
        name: "timestamp",
        kind: FieldKind::Timestamp,
        description: "Event date and time, in Unix timestamp format (integer seconds since 00:00:00 GMT 1970-01-01)",
        sample_json: r#""1460989507""#,
    },
    FieldSpec {
        name: "transactional",
        kind: FieldKind::Integer,
        description: "Indicates if the transmission was marked as transactional",
        sample_json: r#""1""#,
    },
    FieldSpec {
        name: "transmission_id",
        kind: FieldKind::Integer,
        description: "Transmission which originated this message",
        sample_json: r#""65832150921904138""#,
    },
    FieldSpec {
        name: "type",
        kind: FieldKind::Text,
        description: "Type of event this record describes",
        sample_json: r#""bounce""#,
    },
    FieldSpec {
        name: "user_agent",
        kind: FieldKind::Text,
        description: "Value of the browser's User-Agent header",
        sample_json: r#""Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.118 Safari/537.36""#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_sorted_and_unique() {
        assert!(FIELD_DICTIONARY
            .windows(2)
            .all(|pair| pair[0].name < pair[1].name));
        assert_eq!(FIELD_DICTIONARY.len(), 83);
    }

    #[test]
    fn every_sample_parses_and_matches_its_kind() {
        for spec in FIELD_DICTIONARY {
            let sample = spec
                .sample()
                .unwrap_or_else(|| panic!("sample of `{}` is not JSON", spec.name));
            let matches = match spec.kind {
                FieldKind::Text | FieldKind::Timestamp => sample.is_string(),
                FieldKind::Integer => sample.as_str().is_some_and(|s| s.parse::<i128>().is_ok()),
                FieldKind::Decimal => sample.as_str().is_some_and(|s| s.parse::<f64>().is_ok()),
                FieldKind::Boolean => sample.is_boolean(),
                FieldKind::Object => sample.is_object(),
                FieldKind::Array => sample.is_array(),
            };
            assert!(matches, "sample of `{}` is not {}", spec.name, spec.kind);
            assert!(!spec.description.is_empty());
        }
    }

    #[test]
    fn kinds_follow_the_data_type_notes() {
        for name in [
            "customer_id",
            "subaccount_id",
            "bounce_class",
            "num_retries",
            "msg_size",
            "queue_time",
            "error_code",
            "template_version",
            "transactional",
            "outbound_tls",
            "ab_test_version",
            "transmission_id",
        ] {
            assert_eq!(field_kind(name), Some(FieldKind::Integer), "{name}");
        }
        for name in ["geo_ip", "rcpt_meta", "rcpt_subs", "ab_test"] {
            assert_eq!(field_kind(name), Some(FieldKind::Object), "{name}");
        }
        for name in ["rcpt_tags", "sms_remoteids"] {
            assert_eq!(field_kind(name), Some(FieldKind::Array), "{name}");
        }
        for name in [
            "amp_enabled",
            "click_tracking",
            "open_tracking",
            "initial_pixel",
            "retryable",
        ] {
            assert_eq!(field_kind(name), Some(FieldKind::Boolean), "{name}");
        }
        assert_eq!(field_kind("dr_latency"), Some(FieldKind::Decimal));
        assert_eq!(field_kind("injection_time"), Some(FieldKind::Timestamp));
        assert_eq!(field_kind("rcpt_to"), Some(FieldKind::Text));
        assert_eq!(field_kind("accept_language"), Some(FieldKind::Text));
        assert_eq!(field_kind("no_such_field"), None);
    }

    #[test]
    fn lookups_return_documented_values() {
        assert_eq!(
            field_description("rcpt_to"),
            Some("Lowercase version of recipient address used on this message's SMTP envelope")
        );
        assert_eq!(field_sample("outbound_tls"), Some(Value::from("-1")));
        assert_eq!(
            field_sample("rcpt_tags"),
            Some(serde_json::json!(["male", "US"]))
        );
        assert_eq!(field_sample("open_tracking"), Some(Value::Bool(true)));
        assert_eq!(field_sample("unknown"), None);
        assert_eq!(FieldKind::Integer.with_article(), "an integer");
    }
}
