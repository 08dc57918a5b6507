//! Renders one event of a message, field by field, per its type's documented field list.

use eventhose_model::EventType;

use crate::catalog::clients::{proxy_for, Place, DEVICE_AGENTS, PLACES};
use crate::catalog::providers::{Provider, PROVIDERS};
use crate::catalog::responses::{
    Response, BOUNCES, DELAYS, GENERATION_FAILURES, GENERATION_REJECTIONS, POLICY_REJECTIONS,
    TIMEOUT_CLASS, TIMEOUT_CODE, TIMEOUT_TEXT,
};
use crate::catalog::words::LINKS;
use crate::catalog::{Campaign, Catalog, SendingDomain};
use crate::ids::{mix64, write_hex, IdSource};
use crate::message::{Message, StepKind, Transmission};
use crate::render::{format_rfc3339_millis, format_u64, key, FieldSink};

/// What is being emitted for a message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum What {
    Injection,
    GenerationFailure { response: u16 },
    GenerationRejection { response: u16 },
    Step(StepKind),
}

impl What {
    /// The event type emitted.
    pub(crate) fn event_type(self) -> EventType {
        match self {
            What::Injection => EventType::Injection,
            What::GenerationFailure { .. } => EventType::GenerationFailure,
            What::GenerationRejection { .. } => EventType::GenerationRejection,
            What::Step(kind) => kind.event_type(),
        }
    }
}

/// Shared, read-only inputs of rendering.
pub(crate) struct RenderCtx<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) ids: &'a IdSource,
    pub(crate) customer_id: u64,
}

/// One event to render.
pub(crate) struct Emission<'m> {
    pub(crate) msg: &'m Message,
    pub(crate) what: What,
    pub(crate) now_us: i64,
    pub(crate) event_seq: u64,
}

/// Values substituted into response wording.
struct Vars<'a> {
    ip: &'a str,
    rcpt: &'a str,
    domain: &'a str,
    from_domain: &'a str,
    id: &'a str,
    last: Option<&'static Response>,
}

/// Appends `text` with placeholders filled; `canonical` hides per-message details the way
/// SparkPost's `reason` does (`raw_reason` keeps them).
fn fill(out: &mut String, text: &str, vars: &Vars<'_>, canonical: bool) {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return;
        };
        match &after[..close] {
            "ip" if canonical => out.push_str("a.b.c.d"),
            "ip" => out.push_str(vars.ip),
            "rcpt" if canonical => out.push_str("..."),
            "rcpt" => out.push_str(vars.rcpt),
            "id" if canonical => out.push_str("..."),
            "id" => out.push_str(vars.id),
            "domain" => out.push_str(vars.domain),
            "from_domain" => out.push_str(vars.from_domain),
            "last" => {
                if let Some(last) = vars.last {
                    fill(out, last.text, vars, canonical);
                }
            }
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
}

fn push_ip(out: &mut String, ip: [u8; 4]) {
    let mut buf = [0u8; 20];
    for (i, octet) in ip.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(format_u64(u64::from(*octet), &mut buf));
    }
}

/// Which optional field groups an event type carries.
pub(crate) struct Shape {
    routing_domain: bool,
    subject: bool,
    msg_size: bool,
    injection_time: bool,
    delv_method: bool,
    tracking_flags: bool,
}

impl Shape {
    /// Whether every optional message field is present (true for all but policy
    /// rejections and generation events), so the message's cached fields apply.
    pub(crate) fn is_full(&self) -> bool {
        self.routing_domain && self.subject && self.msg_size && self.injection_time
    }
}

/// The field groups of an event type.
pub(crate) fn shape(t: EventType) -> Shape {
    use EventType as E;
    let generation = matches!(t, E::GenerationFailure | E::GenerationRejection);
    Shape {
        routing_domain: t != E::PolicyRejection,
        subject: !matches!(t, E::GenerationFailure | E::PolicyRejection),
        msg_size: !generation && t != E::PolicyRejection,
        injection_time: !generation,
        delv_method: !generation
            && !matches!(t, E::Injection | E::PolicyRejection | E::ListUnsubscribe),
        // Tracking settings are fixed at injection; later events of the message omit them.
        tracking_flags: t == E::Injection,
    }
}

/// Renders the fields every event of a transmission shares. [`crate::simulator`] renders
/// them once per transmission and splices the bytes into each event.
pub(crate) fn transmission_fields<S: FieldSink>(
    sink: &mut S,
    catalog: &Catalog,
    customer_id: u64,
    tx: &Transmission,
    buf: &mut String,
) {
    let campaign = &catalog.campaigns[tx.campaign as usize];
    let sending = &catalog.sending_domains[campaign.sending_domain];
    sink.num_str(key!("transmission_id"), tx.id);
    sink.num_str(key!("customer_id"), customer_id);
    sink.num_str(key!("subaccount_id"), campaign.subaccount);
    buf.clear();
    buf.push_str(campaign.from_local);
    buf.push('@');
    buf.push_str(&sending.name);
    sink.str(key!("friendly_from"), buf);
    sink.str(key!("sending_domain"), &sending.name);
    sink.str(key!("campaign_id"), &campaign.id);
    sink.str(
        key!("template_id"),
        &catalog.templates[campaign.template].id,
    );
    sink.num_str(key!("template_version"), tx.template_version.into());
    if let Some(ab) = &campaign.ab_test {
        sink.str(key!("ab_test_id"), ab);
        sink.num_str(key!("ab_test_version"), tx.ab_version.into());
    }
    sink.str(key!("ip_pool"), &catalog.pools[campaign.pool].name);
    sink.str(key!("recv_method"), campaign.recv_method);
    sink.num_str(key!("transactional"), campaign.transactional.into());
    sink.str_array(key!("rcpt_tags"), &campaign.tags);
}

/// Renders the fields that belong to the message itself, as far as `shape` includes them.
/// For the full shape, [`crate::simulator`] renders them once per message and splices the
/// bytes into each event.
pub(crate) fn message_fields<S: FieldSink>(
    sink: &mut S,
    ctx: &RenderCtx<'_>,
    msg: &Message,
    shape: &Shape,
    buf: &mut String,
) {
    let catalog = ctx.catalog;
    let campaign = &catalog.campaigns[msg.transmission.campaign as usize];
    let domain = &catalog.domains[msg.domain as usize];
    let pool = &catalog.pools[campaign.pool];
    let mut message_id = [0u8; 20];
    ctx.ids.message_id(msg.seq, &mut message_id);
    sink.ascii_str(key!("message_id"), &message_id);
    catalog.recipient_address(msg.recipient, buf);
    sink.str(key!("rcpt_to"), buf);
    sink.str(key!("raw_rcpt_to"), buf);
    sink.str(key!("recipient_domain"), &domain.name);
    if shape.routing_domain {
        sink.str(key!("routing_domain"), &domain.name);
    }
    sink.str(key!("mailbox_provider"), PROVIDERS[domain.provider].name);
    sink.str(key!("mailbox_provider_region"), domain.region);
    let bounce_domain = &catalog.sending_domains[campaign.sending_domain].bounce_domain;
    write_msg_from(buf, ctx.customer_id, msg.seq, bounce_domain);
    sink.str(key!("msg_from"), buf);
    sink.str(
        key!("sending_ip"),
        &pool.ips[msg.sending_ip as usize % pool.ips.len()],
    );
    if shape.subject {
        sink.str(key!("subject"), campaign.subject);
    }
    if shape.msg_size {
        sink.num_str(key!("msg_size"), msg.size.into());
    }
    if shape.injection_time {
        let mut time = [0u8; 24];
        format_rfc3339_millis(msg.injected_us, &mut time);
        sink.ascii_str(key!("injection_time"), &time);
    }
    let mut digits = [0u8; 20];
    let digits = format_u64(msg.recipient, &mut digits).as_bytes();
    let mut user_id = [b'U'; 21];
    user_id[1..=digits.len()].copy_from_slice(digits);
    sink.begin_object(key!("rcpt_meta"));
    sink.ascii_str(key!("user_id"), &user_id[..=digits.len()]);
    sink.end_object();
}

/// Renders one event into `sink` and returns its type.
pub(crate) fn render<S: FieldSink>(
    sink: &mut S,
    ctx: &RenderCtx<'_>,
    buf: &mut String,
    e: &Emission<'_>,
) -> EventType {
    let msg = e.msg;
    let catalog = ctx.catalog;
    let tx = &*msg.transmission;
    let campaign = &catalog.campaigns[tx.campaign as usize];
    let event_type = e.what.event_type();
    let shape = shape(event_type);

    sink.begin();
    sink.str(key!("type"), event_type.as_str());
    sink.num_str(key!("event_id"), ctx.ids.event_id(e.event_seq));
    sink.num_str(
        key!("timestamp"),
        e.now_us.div_euclid(1_000_000).unsigned_abs(),
    );
    let cached = shape.is_full() && !msg.json_fields.is_empty() && sink.splice(&msg.json_fields);
    if !cached {
        message_fields(sink, ctx, msg, &shape, buf);
    }
    if !sink.splice(&tx.json_fields) {
        transmission_fields(sink, catalog, ctx.customer_id, tx, buf);
    }
    if shape.delv_method {
        sink.str(key!("delv_method"), "esmtp");
    }
    let specifics = Specifics {
        ctx,
        msg,
        campaign,
        event_seq: e.event_seq,
    };
    specifics.render(sink, buf, e.what);
    if shape.tracking_flags {
        sink.bool(key!("click_tracking"), campaign.click_tracking);
        sink.bool(key!("open_tracking"), campaign.open_tracking);
        sink.bool(key!("initial_pixel"), campaign.initial_pixel);
        sink.bool(key!("amp_enabled"), tx.amp_enabled);
    }
    sink.end();
    event_type
}

/// Writes the VERP-style return path SparkPost puts in `msg_from` for message number `seq`.
pub(crate) fn write_msg_from(buf: &mut String, customer_id: u64, seq: u64, bounce_domain: &str) {
    const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut h = mix64(seq.wrapping_add(0x6d73_7072));
    buf.clear();
    buf.push_str("msprvs1=");
    let mut digits = [0u8; 20];
    buf.push_str(format_u64(10_000 + (h % 90_000), &mut digits));
    for _ in 0..8 {
        h = mix64(h);
        buf.push(char::from(ALNUM[(h % 62) as usize]));
    }
    buf.push_str("=bounces-");
    buf.push_str(format_u64(customer_id, &mut digits));
    buf.push('@');
    buf.push_str(bounce_domain);
}

/// Inputs of the type-specific part of an event.
struct Specifics<'a> {
    ctx: &'a RenderCtx<'a>,
    msg: &'a Message,
    campaign: &'a Campaign,
    event_seq: u64,
}

impl Specifics<'_> {
    fn render<S: FieldSink>(&self, sink: &mut S, buf: &mut String, what: What) {
        match what {
            What::Injection => {}
            What::GenerationFailure { response } => {
                self.failure(sink, buf, &GENERATION_FAILURES, response, false);
            }
            What::GenerationRejection { response } => {
                self.failure(sink, buf, &GENERATION_REJECTIONS, response, true);
            }
            What::Step(kind) => self.step(sink, buf, kind),
        }
    }

    fn step<S: FieldSink>(&self, sink: &mut S, buf: &mut String, kind: StepKind) {
        let msg = self.msg;
        match kind {
            StepKind::Delivery => {
                self.mx_ip(sink, buf);
                self.attempt_stats(sink);
                sink.signed_str(key!("outbound_tls"), msg.outbound_tls.into());
            }
            StepKind::Delay => {
                self.mx_ip(sink, buf);
                self.attempt_stats(sink);
                sink.signed_str(key!("outbound_tls"), msg.outbound_tls.into());
                self.failure(sink, buf, &DELAYS, msg.delay_response, true);
            }
            StepKind::Bounce { response } => {
                self.mx_ip(sink, buf);
                self.attempt_stats(sink);
                self.failure(sink, buf, &BOUNCES, response, true);
            }
            StepKind::Timeout => {
                self.mx_ip(sink, buf);
                self.attempt_stats(sink);
                sink.num_str(key!("bounce_class"), TIMEOUT_CLASS.into());
                sink.num_str(key!("error_code"), TIMEOUT_CODE.into());
                self.reasons(sink, buf, TIMEOUT_TEXT);
            }
            StepKind::OutOfBand { response } => {
                self.mx_ip(sink, buf);
                self.attempt_stats(sink);
                self.failure(sink, buf, &BOUNCES, response, true);
            }
            StepKind::PolicyRejection { response } => {
                // The API client that injected the message.
                // Both are reduced below 256 first: the casts cannot truncate.
                #[allow(clippy::cast_possible_truncation)]
                let client = [
                    100,
                    24,
                    (self.campaign.subaccount % 256) as u8,
                    (10 + msg.transmission.campaign % 200) as u8,
                ];
                buf.clear();
                push_ip(buf, client);
                sink.str(key!("remote_addr"), buf);
                self.failure(sink, buf, &POLICY_REJECTIONS, response, true);
            }
            StepKind::SpamComplaint => {
                self.attempt_stats(sink);
                sink.str(key!("fbtype"), "abuse");
                sink.str(key!("report_by"), self.provider().fbl_reporter);
                buf.clear();
                buf.push_str("fbl@");
                buf.push_str(&self.sending().bounce_domain);
                sink.str(key!("report_to"), buf);
            }
            StepKind::InitialOpen { .. } | StepKind::Open { .. } => {
                self.client(sink, buf, true);
                self.attempt_stats(sink);
            }
            StepKind::Click { link, .. } => {
                self.client(sink, buf, false);
                self.link(sink, buf, link);
                self.attempt_stats(sink);
            }
            StepKind::ListUnsubscribe => {
                self.mailfrom(sink, buf);
                self.attempt_stats(sink);
            }
            StepKind::LinkUnsubscribe { link } => {
                self.mailfrom(sink, buf);
                buf.clear();
                push_ip(buf, msg.client_ip);
                sink.str(key!("ip_address"), buf);
                sink.str(
                    key!("user_agent"),
                    DEVICE_AGENTS[msg.device as usize % DEVICE_AGENTS.len()],
                );
                self.link(sink, buf, link);
                self.attempt_stats(sink);
            }
        }
    }

    fn provider(&self) -> &'static Provider {
        let domain = &self.ctx.catalog.domains[self.msg.domain as usize];
        &PROVIDERS[domain.provider]
    }

    fn sending(&self) -> &SendingDomain {
        &self.ctx.catalog.sending_domains[self.campaign.sending_domain]
    }

    fn mailfrom<S: FieldSink>(&self, sink: &mut S, buf: &mut String) {
        let bounce_domain = &self.sending().bounce_domain;
        write_msg_from(buf, self.ctx.customer_id, self.msg.seq, bounce_domain);
        sink.str(key!("mailfrom"), buf);
    }

    fn mx_ip<S: FieldSink>(&self, sink: &mut S, buf: &mut String) {
        buf.clear();
        push_ip(buf, self.msg.mx_ip);
        sink.str(key!("ip_address"), buf);
    }

    fn attempt_stats<S: FieldSink>(&self, sink: &mut S) {
        sink.num_str(key!("queue_time"), self.msg.queue_time_ms);
        sink.num_str(key!("num_retries"), self.msg.delays_done.into());
    }

    /// `bounce_class` (optional), `error_code`, `reason` and `raw_reason` of a failure.
    fn failure<S: FieldSink>(
        &self,
        sink: &mut S,
        buf: &mut String,
        table: &'static [Response],
        response: u16,
        with_class: bool,
    ) {
        let Some(r) = table.get(response as usize).or(table.first()) else {
            return;
        };
        if with_class {
            sink.num_str(key!("bounce_class"), r.class.into());
        }
        sink.num_str(key!("error_code"), r.code.into());
        self.reasons(sink, buf, r.text);
    }

    fn reasons<S: FieldSink>(&self, sink: &mut S, buf: &mut String, text: &str) {
        let msg = self.msg;
        let catalog = self.ctx.catalog;
        let pool = &catalog.pools[self.campaign.pool];
        let mut rcpt = String::with_capacity(48);
        catalog.recipient_address(msg.recipient, &mut rcpt);
        let mut id_token = [0u8; 14];
        write_hex(
            mix64(msg.seq ^ (u64::from(msg.delays_done) << 56)),
            &mut id_token,
        );
        let vars = Vars {
            ip: &pool.ips[msg.sending_ip as usize % pool.ips.len()],
            rcpt: &rcpt,
            domain: &catalog.domains[msg.domain as usize].name,
            from_domain: &self.sending().name,
            id: std::str::from_utf8(&id_token).unwrap_or_default(),
            last: DELAYS.get(msg.delay_response as usize),
        };
        buf.clear();
        fill(buf, text, &vars, true);
        sink.str(key!("reason"), buf);
        buf.clear();
        fill(buf, text, &vars, false);
        sink.str(key!("raw_reason"), buf);
    }

    /// `ip_address`, `user_agent` and `geo_ip` of whoever made the tracking request.
    fn client<S: FieldSink>(&self, sink: &mut S, buf: &mut String, pixel: bool) {
        let msg = self.msg;
        let proxy = if pixel {
            proxy_for(self.provider().pixel)
        } else {
            None
        };
        let (agent, place, ip): (&str, &Place, [u8; 4]) = match proxy {
            Some((agent, place)) => {
                let [low, second, ..] = mix64(self.event_seq ^ 0x7072_6f78).to_le_bytes();
                let [a, b] = place.ip_block;
                (agent, place, [a, b, second, low.max(1)])
            }
            None => (
                DEVICE_AGENTS[msg.device as usize % DEVICE_AGENTS.len()],
                &PLACES[msg.place as usize % PLACES.len()],
                msg.client_ip,
            ),
        };
        buf.clear();
        push_ip(buf, ip);
        sink.str(key!("ip_address"), buf);
        sink.str(key!("user_agent"), agent);
        sink.begin_object(key!("geo_ip"));
        sink.str(key!("country"), place.country);
        sink.str(key!("region"), place.region);
        sink.str(key!("city"), place.city);
        sink.f64(key!("latitude"), place.latitude);
        sink.f64(key!("longitude"), place.longitude);
        if place.zip != 0 {
            sink.u64(key!("zip"), place.zip.into());
        }
        sink.end_object();
    }

    fn link<S: FieldSink>(&self, sink: &mut S, buf: &mut String, link: u8) {
        let (name, path) = LINKS[link as usize % LINKS.len()];
        sink.str(key!("target_link_name"), name);
        buf.clear();
        buf.push_str(&self.sending().website);
        buf.push_str(path);
        buf.push_str("?utm_campaign=");
        buf.push_str(&self.campaign.id);
        sink.str(key!("target_link_url"), buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            ip: "192.0.2.7",
            rcpt: "jane@example.com",
            domain: "example.com",
            from_domain: "shop.example",
            id: "abc123",
            last: Some(&DELAYS[6]),
        }
    }

    #[test]
    fn fill_substitutes_raw_values() {
        let mut out = String::new();
        fill(
            &mut out,
            "550 <{rcpt}> from {ip} at {domain} ({id})",
            &vars(),
            false,
        );
        assert_eq!(
            out,
            "550 <jane@example.com> from 192.0.2.7 at example.com (abc123)"
        );
    }

    #[test]
    fn fill_canonicalises_per_message_details() {
        let mut out = String::new();
        fill(
            &mut out,
            "550 <{rcpt}> from {ip} ({id}) {unknown}",
            &vars(),
            true,
        );
        assert_eq!(out, "550 <...> from a.b.c.d (...) {unknown}");
    }

    #[test]
    fn fill_nests_the_last_transient_failure() {
        let mut out = String::new();
        fill(&mut out, TIMEOUT_TEXT, &vars(), false);
        assert_eq!(
            out,
            "554 5.4.7 [internal] message timeout (last transfail: 451 4.3.0 [internal] Sending IP temporarily suspended)"
        );
    }

    #[test]
    fn shapes_follow_the_field_lists() {
        assert!(!shape(EventType::PolicyRejection).subject);
        assert!(!shape(EventType::GenerationFailure).injection_time);
        assert!(shape(EventType::GenerationRejection).subject);
        assert!(!shape(EventType::Injection).delv_method);
        assert!(shape(EventType::Injection).tracking_flags);
        assert!(!shape(EventType::Click).tracking_flags);
        assert!(!shape(EventType::SpamComplaint).tracking_flags);
    }
}
