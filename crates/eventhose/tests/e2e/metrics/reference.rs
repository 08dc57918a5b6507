//! The expected side: an independent, deliberately plain re-implementation of the metric
//! definitions that `eventhose_analytics` documents (metric.rs, fold.rs), computed from the raw
//! event JSON the test ingests. Nothing here calls eventhose code.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

/// Metrics the summary, group-by and time-series endpoints all accept.
pub const METRICS: [&str; 34] = [
    "count_injected",
    "count_bounce",
    "count_rejected",
    "count_delivered",
    "count_delivered_first",
    "count_delivered_subsequent",
    "total_delivery_time_first",
    "total_delivery_time_subsequent",
    "total_msg_volume",
    "count_policy_rejection",
    "count_generation_rejection",
    "count_generation_failed",
    "count_inband_bounce",
    "count_outofband_bounce",
    "count_soft_bounce",
    "count_hard_bounce",
    "count_block_bounce",
    "count_admin_bounce",
    "count_undetermined_bounce",
    "count_delayed",
    "count_delayed_first",
    "count_rendered",
    "count_nonprefetched_rendered",
    "count_unique_rendered",
    "count_nonprefetched_unique_rendered",
    "count_unique_confirmed_opened",
    "count_nonprefetched_unique_confirmed_opened",
    "count_clicked",
    "count_unique_clicked",
    "count_targeted",
    "count_sent",
    "count_accepted",
    "count_spam_complaint",
    "count_unsubscribe",
];

/// Metrics only the time series accepts.
pub const TIME_SERIES_ONLY: [&str; 4] = [
    "count_initial_rendered",
    "count_nonprefetched_initial_rendered",
    "count_unique_initial_rendered",
    "count_nonprefetched_unique_initial_rendered",
];

/// The text dimensions, by their filter parameter, and the event field each is read from.
pub const TEXT_DIMENSIONS: [(&str, &str); 8] = [
    ("domains", "recipient_domain"),
    ("mailbox_providers", "mailbox_provider"),
    ("mailbox_provider_regions", "mailbox_provider_region"),
    ("sending_domains", "sending_domain"),
    ("campaigns", "campaign_id"),
    ("templates", "template_id"),
    ("ip_pools", "ip_pool"),
    ("sending_ips", "sending_ip"),
];

/// Bounce classes as SparkPost documents them: (code, name, description, category).
pub const BOUNCE_CLASSES: [(u16, &str, &str, &str); 20] = [
    (
        1,
        "Undetermined",
        "The response text could not be identified.",
        "Undetermined",
    ),
    (10, "Invalid Recipient", "The recipient is invalid.", "Hard"),
    (20, "Soft Bounce", "The message soft bounced.", "Soft"),
    (
        21,
        "DNS Failure",
        "The message bounced due to a DNS failure.",
        "Soft",
    ),
    (
        22,
        "Mailbox Full",
        "The message bounced due to the remote mailbox being over quota.",
        "Soft",
    ),
    (
        23,
        "Too Large",
        "The message bounced because it was too large for the recipient.",
        "Soft",
    ),
    (24, "Timeout", "The message timed out.", "Soft"),
    (
        25,
        "Admin Failure",
        "The message was failed by SparkPost's configured policies.",
        "Admin",
    ),
    (
        30,
        "Generic Bounce: No RCPT",
        "No recipient could be determined for the message.",
        "Hard",
    ),
    (
        40,
        "Generic Bounce",
        "The message failed for unspecified reasons.",
        "Soft",
    ),
    (
        50,
        "Mail Block",
        "The message was blocked by the receiver.",
        "Block",
    ),
    (
        51,
        "Spam Block",
        "The message was blocked by the receiver as coming from a known spam source.",
        "Block",
    ),
    (
        52,
        "Spam Content",
        "The message was blocked by the receiver as spam.",
        "Block",
    ),
    (
        53,
        "Prohibited Attachment",
        "The message was blocked by the receiver because it contained an attachment.",
        "Block",
    ),
    (
        54,
        "Relaying Denied",
        "The message was blocked by the receiver because relaying is not allowed.",
        "Block",
    ),
    (
        60,
        "Auto-Reply",
        "The message is an auto-reply/vacation mail.",
        "Soft",
    ),
    (
        70,
        "Transient Failure",
        "Message transmission has been temporarily delayed.",
        "Soft",
    ),
    (
        80,
        "Subscribe",
        "The message is a subscribe request.",
        "Admin",
    ),
    (
        90,
        "Unsubscribe",
        "The message is an unsubscribe request.",
        "Hard",
    ),
    (
        100,
        "Challenge-Response",
        "The message is a challenge-response probe.",
        "Soft",
    ),
];

/// The documented category of a bounce class (unknown classes are Undetermined).
pub fn bounce_category(class: u16) -> &'static str {
    BOUNCE_CLASSES
        .iter()
        .find(|c| c.0 == class)
        .map_or("Undetermined", |c| c.3)
}

/// Reason and link labels longer than this many characters are cut.
pub const MAX_LABEL_CHARS: usize = 256;

/// What one event says for the breakdown reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// A bounce (`inband`) or out-of-band bounce; `admin` when its class is in the Admin category.
    Bounce {
        reason: String,
        class: u16,
        inband: bool,
        admin: bool,
    },
    /// A rejection: kind 1 policy, 2 generation rejection, 3 generation failure.
    Rejection { reason: String, kind: u16 },
    /// A delay, `first` on the first attempt.
    Delay { reason: String, first: bool },
    /// A click; `first_on_link` for the first click of its message on that link.
    Click { link: String, first_on_link: bool },
    /// A delivery and its attempt label.
    Delivery { attempt: &'static str },
}

/// One event, reduced to what metrics read.
#[derive(Clone, Debug)]
pub struct Fact {
    /// Unix seconds of its minute.
    pub minute: i64,
    /// `subaccount_id`, 0 when absent.
    pub subaccount: u64,
    /// Text dimensions by filter parameter ("" when absent).
    pub text: BTreeMap<&'static str, String>,
    /// What the event adds to each metric (derived `count_accepted` excepted).
    pub counts: BTreeMap<&'static str, u64>,
    /// Its breakdown contribution.
    pub detail: Option<Detail>,
}

impl Fact {
    /// The value of a dimension by its filter parameter (subaccounts in decimal).
    pub fn value(&self, param: &str) -> String {
        if param == "subaccounts" {
            self.subaccount.to_string()
        } else {
            self.text.get(param).cloned().unwrap_or_default()
        }
    }
}

/// A field as text: strings as they are, numbers in decimal.
pub fn text_field(event: &Value, name: &str) -> Option<String> {
    match event.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_field(event: &Value, name: &str) -> Option<u64> {
    text_field(event, name)?.parse().ok()
}

fn cut(label: String) -> String {
    match label.char_indices().nth(MAX_LABEL_CHARS) {
        Some((at, _)) => label[..at].to_string(),
        None => label,
    }
}

/// Reduces events, in ingest order, to facts. Unique metrics count each message once, at the
/// first event of that kind of engagement; link clicks once per message and link.
pub fn facts(events: &[Value]) -> Vec<Fact> {
    let mut engaged: HashSet<(String, &'static str)> = HashSet::new();
    let mut clicked_links: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let kind = event["type"].as_str().expect("type");
        let stamp = text_field(event, "timestamp").expect("timestamp");
        let seconds: i64 = stamp
            .parse()
            .ok()
            .or_else(|| super::clock::parse_rfc3339(&stamp).map(|(at, _)| at))
            .expect("unix seconds or RFC 3339");
        let mut text = BTreeMap::new();
        for (param, field) in TEXT_DIMENSIONS {
            let value = match field {
                "recipient_domain" => text_field(event, field).or_else(|| {
                    text_field(event, "rcpt_to")
                        .and_then(|to| to.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
                }),
                _ => text_field(event, field),
            };
            text.insert(param, value.unwrap_or_default());
        }
        let retries = int_field(event, "num_retries").unwrap_or(0);
        let prefetched = event.get("prefetched") == Some(&Value::Bool(true));
        let reason = || {
            cut(text_field(event, "reason")
                .or_else(|| text_field(event, "raw_reason"))
                .unwrap_or_default())
        };
        let message = text_field(event, "message_id");
        let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut add = |metric: &'static str, n: u64| *counts.entry(metric).or_default() += n;
        let mut detail = None;
        let mut unique: Vec<&'static str> = Vec::new();
        match kind {
            "injection" => {
                add("count_injected", 1);
                add("count_targeted", 1);
            }
            "policy_rejection" | "generation_rejection" | "generation_failure" => {
                let (metric, rejection) = match kind {
                    "policy_rejection" => ("count_policy_rejection", 1),
                    "generation_rejection" => ("count_generation_rejection", 2),
                    _ => ("count_generation_failed", 3),
                };
                add(metric, 1);
                add("count_rejected", 1);
                add("count_targeted", 1);
                // "admin bounce classification reasons, also includes Rejected".
                add("count_admin_bounce", 1);
                detail = Some(Detail::Rejection {
                    reason: reason(),
                    kind: rejection,
                });
            }
            "delivery" => {
                let queue_time = int_field(event, "queue_time").unwrap_or(0);
                add("count_delivered", 1);
                add("count_sent", 1);
                if retries == 0 {
                    add("count_delivered_first", 1);
                    add("total_delivery_time_first", queue_time);
                } else {
                    add("count_delivered_subsequent", 1);
                    add("total_delivery_time_subsequent", queue_time);
                }
                add(
                    "total_msg_volume",
                    int_field(event, "msg_size").unwrap_or(0),
                );
                let attempt = match retries {
                    0 => "1",
                    1 => "2",
                    _ => "3+",
                };
                detail = Some(Detail::Delivery { attempt });
            }
            "bounce" | "out_of_band" => {
                // A class outside u16 is no class (0), as the server reads it.
                let class = int_field(event, "bounce_class")
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(0);
                let inband = kind == "bounce";
                let category = bounce_category(class);
                let admin = category == "Admin";
                if admin {
                    add("count_admin_bounce", 1);
                } else {
                    add("count_bounce", 1);
                    if inband {
                        add("count_inband_bounce", 1);
                        add("count_sent", 1);
                    } else {
                        add("count_outofband_bounce", 1);
                    }
                    add(
                        match category {
                            "Hard" => "count_hard_bounce",
                            "Soft" => "count_soft_bounce",
                            "Block" => "count_block_bounce",
                            _ => "count_undetermined_bounce",
                        },
                        1,
                    );
                }
                detail = Some(Detail::Bounce {
                    reason: reason(),
                    class,
                    inband,
                    admin,
                });
            }
            "delay" => {
                add("count_delayed", 1);
                if retries == 0 {
                    add("count_delayed_first", 1);
                }
                detail = Some(Detail::Delay {
                    reason: reason(),
                    first: retries == 0,
                });
            }
            "open" | "amp_open" => {
                add("count_rendered", 1);
                unique.extend(["count_unique_rendered", "count_unique_confirmed_opened"]);
                if !prefetched {
                    add("count_nonprefetched_rendered", 1);
                    unique.extend([
                        "count_nonprefetched_unique_rendered",
                        "count_nonprefetched_unique_confirmed_opened",
                    ]);
                }
            }
            "initial_open" | "amp_initial_open" => {
                add("count_initial_rendered", 1);
                unique.extend([
                    "count_unique_initial_rendered",
                    "count_unique_confirmed_opened",
                ]);
                if !prefetched {
                    add("count_nonprefetched_initial_rendered", 1);
                    unique.extend([
                        "count_nonprefetched_unique_initial_rendered",
                        "count_nonprefetched_unique_confirmed_opened",
                    ]);
                }
            }
            "click" | "amp_click" => {
                add("count_clicked", 1);
                unique.extend([
                    "count_unique_clicked",
                    "count_unique_confirmed_opened",
                    "count_nonprefetched_unique_confirmed_opened",
                ]);
                let link = cut(text_field(event, "target_link_name")
                    .or_else(|| text_field(event, "target_link_url"))
                    .unwrap_or_default());
                let first_on_link = match &message {
                    Some(m) => clicked_links.insert((m.clone(), link.clone())),
                    None => false,
                };
                detail = Some(Detail::Click {
                    link,
                    first_on_link,
                });
            }
            "spam_complaint" => add("count_spam_complaint", 1),
            "list_unsubscribe" | "link_unsubscribe" => add("count_unsubscribe", 1),
            _ => continue,
        }
        if let Some(m) = &message {
            for metric in unique {
                if engaged.insert((m.clone(), metric)) {
                    add(metric, 1);
                }
            }
        }
        out.push(Fact {
            minute: seconds.div_euclid(60) * 60,
            subaccount: int_field(event, "subaccount_id").unwrap_or(0),
            text,
            counts,
            detail,
        });
    }
    out
}

/// Sums of metrics over a group of facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals(BTreeMap<&'static str, u64>);

impl Totals {
    /// Adds one fact.
    pub fn add(&mut self, fact: &Fact) {
        for (metric, n) in &fact.counts {
            *self.0.entry(metric).or_default() += n;
        }
    }

    /// The sum of `facts`.
    pub fn of<'a>(facts: impl IntoIterator<Item = &'a Fact>) -> Totals {
        let mut totals = Totals::default();
        for fact in facts {
            totals.add(fact);
        }
        totals
    }

    /// A metric's value: `count_accepted` is delivered minus out-of-band bounces of the group,
    /// never below zero.
    pub fn get(&self, metric: &str) -> u64 {
        let n = |m: &str| self.0.get(m).copied().unwrap_or(0);
        match metric {
            "count_accepted" => n("count_delivered").saturating_sub(n("count_outofband_bounce")),
            other => n(other),
        }
    }
}

/// How a filter condition compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Like,
    NotEq,
    NotLike,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Like => "like",
            Op::NotEq => "notEq",
            Op::NotLike => "notLike",
        }
    }
}

/// One condition on one dimension.
#[derive(Clone, Debug)]
pub struct Cond {
    pub param: &'static str,
    pub op: Op,
    pub values: Vec<String>,
}

/// Conditions joined by AND (or OR when `any`).
#[derive(Clone, Debug)]
pub struct Group {
    pub any: bool,
    pub conds: Vec<Cond>,
}

/// Groups that must all hold.
#[derive(Clone, Debug, Default)]
pub struct Filter(pub Vec<Group>);

impl Filter {
    /// Adds a group of one `eq` condition (a simple filter).
    pub fn eq(mut self, param: &'static str, values: &[&str]) -> Self {
        self.0.push(Group {
            any: false,
            conds: vec![Cond {
                param,
                op: Op::Eq,
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
        });
        self
    }

    /// Adds a group.
    pub fn group(mut self, any: bool, conds: Vec<(&'static str, Op, Vec<&str>)>) -> Self {
        self.0.push(Group {
            any,
            conds: conds
                .into_iter()
                .map(|(param, op, values)| Cond {
                    param,
                    op,
                    values: values.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        });
        self
    }

    /// Whether a fact passes.
    pub fn passes(&self, fact: &Fact) -> bool {
        self.0.iter().all(|group| {
            let mut results = group.conds.iter().map(|c| {
                let value = fact.value(c.param);
                let contains = |p: &String| value.to_lowercase().contains(&p.to_lowercase());
                match c.op {
                    Op::Eq => c.values.contains(&value),
                    Op::NotEq => !c.values.contains(&value),
                    Op::Like => c.values.iter().any(contains),
                    Op::NotLike => !c.values.iter().any(contains),
                }
            });
            if group.any {
                group.conds.is_empty() || results.any(|ok| ok)
            } else {
                results.all(|ok| ok)
            }
        })
    }

    /// The filter as SparkPost's `query_filters` JSON.
    pub fn query_filters(&self) -> String {
        let groupings: Vec<Value> = self
            .0
            .iter()
            .map(|group| {
                let mut keys = serde_json::Map::new();
                for c in &group.conds {
                    let entry = keys
                        .entry(c.param)
                        .or_insert_with(|| Value::Object(Default::default()));
                    entry[c.op.name()] = Value::from(c.values.clone());
                }
                let combinator = if group.any { "OR" } else { "AND" };
                serde_json::json!({ combinator: keys })
            })
            .collect();
        serde_json::json!({ "groupings": groupings }).to_string()
    }
}

/// Facts in `[from, to)` passing `filter`.
pub fn select<'a>(
    facts: &'a [Fact],
    from: i64,
    to: i64,
    filter: &'a Filter,
) -> impl Iterator<Item = &'a Fact> + 'a {
    facts
        .iter()
        .filter(move |f| (from..to).contains(&f.minute) && filter.passes(f))
}
