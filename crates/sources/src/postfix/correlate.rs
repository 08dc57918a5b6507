//! Joining a message's lines into per-recipient events.
//!
//! **Entries.** Lines are joined by host, instance and queue id (ids are unique only within
//! one instance at one time, and are reused). An entry opens at the first line naming its id
//! and ends at `removed` (or a cleanup reject, after which no `removed` follows). After
//! `removed` it is kept for [`REMOVED_GRACE`] of log time, so that a line of the same moment
//! logged after it (two processes writing to syslog) still joins it. An smtpd `client=` or
//! pickup line for a removed id, or for one whose entry already saw its reception or
//! deliveries, starts a new entry (in the latter case the old one missed its `removed`:
//! counted as `reused`).
//!
//! **Events, emitted as soon as the line that decides them is read.** Postfix logs recipients
//! only when it tries to deliver to them, so a recipient's `injection` is emitted when it first
//! appears, dated when the message arrived. Then one event per delivery line: `sent` →
//! `delivery`, `deferred` and `SOFTBOUNCE` → `delay`, `bounced` → `bounce`. qmgr's
//! `status=expired` (or `force-expired`) turns every recipient still deferred into a `bounce`
//! of class 24 (Timeout), with the last deferral's reply as its reason. A `reject` (smtpd's
//! `NOQUEUE: reject:`, or a recipient or message refused after the queue file was made) is a
//! `policy_rejection` of its `to=` recipient; `reject_warning`, `hold` and `discard` are not
//! (the message goes on, or is dropped silently).
//!
//! An injection needs the reception: smtpd's `client=` or pickup's line. A message whose
//! reception was before the log was read, or whose entry was dropped, gets its later events
//! but no injection (rather than a second one). The recipient is the address as received
//! (`orig_to=` when logged, else `to=`).
//!
//! **Postfix's own messages.** Notifications made by the bounce service (the DSNs named by
//! `sender non-delivery notification: ID`, and the null-sender messages that arrive with no
//! smtpd or pickup line) are not messages anyone injected: they produce no events, and their
//! lines are counted as `generated`. The failure they report is already the original
//! recipient's `bounce`.
//!
//! **Content-filter hops.** `status=sent (250 … queued as NEWID)` hands the message on under a
//! new id. When an entry NEWID of the same host (any instance) opened within the hop timeout,
//! or when the relay is a loopback address and NEWID appears within the hop timeout, the two
//! are linked: no delivery for the hop, and the new entry's events speak of the original
//! message (its `message_id`, arrival and sender), with no injection of their own. smtpd's
//! `orig_queue_id=` (a filter that forwards it) links the same way. A `queued as` from a relay
//! elsewhere (another MTA) is a delivery; one from loopback whose NEWID never appears is
//! reported as a delivery when the hop timeout passes.
//!
//! **Bounded state, driven by the log's clock.** The clock is the latest line time seen. An
//! entry idle for longer than the entry timeout is dropped (`flushed`); events are emitted as
//! lines arrive, so dropping loses only what later lines would have needed (retry counts, the
//! recipients an expiry bounces). Opening an entry beyond the cap drops the one idle longest
//! (`evicted`). Entries are ordered by last activity in a `BTreeMap`, so both are exact and
//! deterministic: replaying a log gives the same events in the same order.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, FixedOffset, TimeDelta};
use eventhose_model::{bounce_class, EventType};
use serde_json::{Map, Value};

use super::anchors::{Anchor, Anchors};
use super::config::PostfixConfig;
use super::events::{EventBuilder, IdHasher, MessageFacts};
use super::line::{is_long_queue_id, Delivery, PostfixLine, Record, Reject, RejectAction, Status};
use super::reason::canonical_reason;
use super::scan::{queued_as, seconds_to_millis, Reply};
use super::stats::Stats;

/// The bounce class of an expired message: 24, Timeout.
pub const EXPIRED_BOUNCE_CLASS: u16 = 24;
/// How long (log time) an entry is kept after its `removed` line, for lines of the same
/// moment logged out of order.
pub const REMOVED_GRACE: TimeDelta = TimeDelta::seconds(5);
/// The bounce class reported when the classifier returns a code that is not one.
const UNDETERMINED: u16 = 1;
/// At most this many instance names are remembered for finding a hop's new queue id in
/// another instance (a log cannot grow the list, nor the cost of a lookup, without bound).
pub const MAX_INSTANCES: usize = 32;
/// At most this many recipients of one message are remembered. Past them, a recipient's
/// lines are still reported, but each looks like its first (an injection again, with the
/// same id, so deduplicated downstream; no retry count).
pub const MAX_RECIPIENTS_PER_ENTRY: usize = 10_000;

/// One line's context: who logged it, when, and the whole message (for ids of lines without
/// a queue id).
#[derive(Clone, Copy, Debug)]
pub struct LineContext<'a> {
    /// The host that logged the line.
    pub host: &'a str,
    /// When.
    pub timestamp: DateTime<FixedOffset>,
    /// The message text after the syslog envelope.
    pub message: &'a str,
}

/// How a message entered Postfix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reception {
    Smtpd,
    Pickup,
}

impl Reception {
    fn recv_method(self) -> &'static str {
        match self {
            // smtpd's `client=` line does not say whether the client said EHLO; nearly all do.
            Reception::Smtpd => "esmtp",
            Reception::Pickup => "pickup",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecipientState {
    Open,
    Delivered,
    HandedOn,
    Bounced,
}

#[derive(Debug)]
struct Recipient {
    address: String,
    deferrals: u32,
    last_deferral: Option<(Option<String>, String)>,
    state: RecipientState,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    host: String,
    instance: String,
    queue_id: String,
    message_id: String,
    opened: DateTime<FixedOffset>,
    last_seen: DateTime<FixedOffset>,
    reception: Option<(DateTime<FixedOffset>, Reception)>,
    sender: Option<String>,
    size: Option<u64>,
    generated: bool,
    /// `removed` was logged; the entry is kept a few seconds for lines logged out of order.
    removed: bool,
    origin: Option<MessageFacts>,
    /// The line that opened this entry, held while it is open.
    anchor: Option<Anchor>,
    /// The line that opened the message this entry continues (a content-filter hop).
    origin_anchor: Option<Anchor>,
    recipients: Vec<Recipient>,
    recipient_index: HashMap<String, usize>,
}

impl Entry {
    /// The first line this entry's events depend on.
    fn first_line(&self) -> Option<Anchor> {
        self.origin_anchor.or(self.anchor)
    }

    fn facts(&self) -> MessageFacts {
        if let Some(origin) = &self.origin {
            return origin.clone();
        }
        MessageFacts {
            message_id: self.message_id.clone(),
            injection_time: self.reception.map(|(time, _)| time),
            msg_from: self.sender.clone(),
            msg_size: self.size,
            recv_method: self.reception.map(|(_, how)| how.recv_method()),
        }
    }

    /// A notification Postfix made itself.
    fn is_generated(&self) -> bool {
        self.generated || (self.sender.as_deref() == Some("") && self.reception.is_none())
    }

    fn injects(&self) -> bool {
        self.reception.is_some() && self.origin.is_none()
    }

    /// The recipient's index, and whether it is new; no index past the limit.
    fn recipient(&mut self, address: &str) -> (Option<usize>, bool) {
        if let Some(&index) = self.recipient_index.get(address) {
            return (Some(index), false);
        }
        let index = self.recipients.len();
        if index >= MAX_RECIPIENTS_PER_ENTRY {
            return (None, true);
        }
        self.recipients.push(Recipient {
            address: address.to_owned(),
            deferrals: 0,
            last_deferral: None,
            state: RecipientState::Open,
        });
        self.recipient_index.insert(address.to_owned(), index);
        (Some(index), true)
    }
}

/// A hop to a loopback relay whose new queue id has not appeared yet.
#[derive(Debug)]
struct PendingHop {
    seq: u64,
    deadline: DateTime<FixedOffset>,
    origin: MessageFacts,
    /// The line that opened the message handed on.
    anchor: Option<Anchor>,
    /// The entry of the message handed on.
    from: String,
    /// The deliveries reported if the new id never appears: one per recipient handed on.
    deliveries: Vec<Map<String, Value>>,
}

/// Joins parsed Postfix lines into events. Feed it lines in log order with
/// [`push`](Correlator::push); events come out as soon as they are decided.
#[derive(Debug)]
pub struct Correlator {
    config: PostfixConfig,
    entries: HashMap<String, Entry>,
    /// Entries by last activity: (last seen in µs, seq) → key.
    by_activity: BTreeMap<(i64, u64), String>,
    /// Hops waiting for their new id, by `host \0 id`.
    pending_hops: HashMap<String, PendingHop>,
    /// The instance names seen, to find a hop's new id in any instance of a host.
    instances: Vec<String>,
    /// Entries whose `removed` line was read, in that order: (when, seq, key).
    removed: VecDeque<(DateTime<FixedOffset>, u64, String)>,
    /// How many entries are marked removed.
    removed_count: usize,
    clock: Option<DateTime<FixedOffset>>,
    seq: u64,
    /// The lines the open entries and waiting hops depend on.
    anchors: Anchors,
    stats: Stats,
}

fn entry_key(host: &str, instance: &str, queue_id: &str) -> String {
    let mut key = String::with_capacity(host.len() + instance.len() + queue_id.len() + 2);
    key.push_str(host);
    key.push('\0');
    key.push_str(instance);
    key.push('\0');
    key.push_str(queue_id);
    key
}

fn hop_key(host: &str, queue_id: &str) -> String {
    let mut key = String::with_capacity(host.len() + queue_id.len() + 1);
    key.push_str(host);
    key.push('\0');
    key.push_str(queue_id);
    key
}

fn micros(time: DateTime<FixedOffset>) -> i64 {
    time.timestamp_micros()
}

fn is_loopback(relay: Option<super::scan::Peer<'_>>) -> bool {
    relay.is_some_and(|peer| {
        peer.addr
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
            || peer.name == "localhost"
    })
}

impl Correlator {
    /// A correlator with no open entries.
    pub fn new(config: PostfixConfig) -> Correlator {
        Correlator {
            config,
            entries: HashMap::new(),
            by_activity: BTreeMap::new(),
            pending_hops: HashMap::new(),
            instances: Vec::new(),
            removed: VecDeque::new(),
            removed_count: 0,
            clock: None,
            seq: 0,
            anchors: Anchors::default(),
            stats: Stats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            open_entries: self.entries.len() - self.removed_count,
            pending_hops: self.pending_hops.len(),
            ..self.stats
        }
    }

    pub(crate) fn stats_ref(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &PostfixConfig {
        &self.config
    }

    /// The number of the oldest line that an open entry or a waiting hop still depends on,
    /// lines being numbered from 0 as [`Stats::lines`] counts them (a line's number is
    /// `lines - 1` while it is read). `None` when nothing is open. Re-reading the log from
    /// that line rebuilds the state, with the same ids; an entry opened longer ago than the
    /// entry timeout (log time) no longer holds its line (see `anchors.rs`).
    pub fn oldest_needed_line(&self) -> Option<u64> {
        self.anchors.oldest()
    }

    /// Holds `first` again, for an entry or a hop that continues the message it opened.
    fn hold_again(&mut self, first: Option<Anchor>) -> Option<Anchor> {
        first.map(|first| self.anchors.hold(first.line(), first.micros()))
    }

    /// The number of the line being read.
    fn current_line(&self) -> u64 {
        self.stats.lines.saturating_sub(1)
    }

    /// Reads one parsed line, appending the events it decides to `out`.
    pub fn push(
        &mut self,
        context: LineContext<'_>,
        line: &PostfixLine<'_>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        self.advance_to(context.timestamp, out);
        let before = out.len();
        let known = self.instances.iter().any(|known| known == line.instance);
        if !known && self.instances.len() < MAX_INSTANCES {
            self.instances.push(line.instance.to_owned());
        }
        match line.queue_id {
            None => {
                if let Record::Reject(reject) = &line.record {
                    self.noqueue_reject(context, line.instance, reject, out);
                }
            }
            Some(queue_id) => self.queued_line(context, line, queue_id, out),
        }
        self.stats.events += (out.len() - before) as u64;
    }

    /// Moves the clock to `time` (if later), dropping entries idle past the timeout and
    /// reporting hops whose new id did not appear in time. A follower calls it when the log
    /// is quiet; a replay needs not.
    pub fn advance_to(&mut self, time: DateTime<FixedOffset>, out: &mut Vec<Map<String, Value>>) {
        if self.clock.is_some_and(|clock| clock >= time) {
            return;
        }
        self.clock = Some(time);
        let before = out.len();
        let idle_limit = micros(time)
            - self
                .config
                .entry_timeout
                .num_microseconds()
                .unwrap_or(i64::MAX);
        while let Some(&(removed_at, seq, _)) = self.removed.front() {
            if removed_at + REMOVED_GRACE >= time {
                break;
            }
            if let Some((_, _, key)) = self.removed.pop_front() {
                if self
                    .entries
                    .get(&key)
                    .is_some_and(|e| e.seq == seq && e.removed)
                {
                    self.close(&key);
                }
            }
        }
        self.anchors.expire_before(idle_limit);
        while let Some(entry) = self.by_activity.first_entry() {
            if entry.key().0 >= idle_limit {
                break;
            }
            let key = entry.remove();
            if self.forget(&key).is_some_and(|e| !e.removed) {
                self.stats.flushed += 1;
            }
        }
        if !self.pending_hops.is_empty() {
            let mut due: Vec<(u64, String)> = self
                .pending_hops
                .iter()
                .filter(|(_, hop)| hop.deadline < time)
                .map(|(key, hop)| (hop.seq, key.clone()))
                .collect();
            due.sort_unstable();
            for (_, key) in due {
                if let Some(hop) = self.pending_hops.remove(&key) {
                    if let Some(anchor) = hop.anchor {
                        self.anchors.release(anchor);
                    }
                    self.stats.hops_unresolved += 1;
                    out.extend(hop.deliveries);
                }
            }
        }
        self.stats.events += (out.len() - before) as u64;
    }

    /// Ends the input: reports every hop still waiting as a delivery and drops every entry
    /// (counted as flushed).
    pub fn finish(&mut self, out: &mut Vec<Map<String, Value>>) {
        let mut hops: Vec<PendingHop> = self.pending_hops.drain().map(|(_, hop)| hop).collect();
        hops.sort_unstable_by_key(|hop| hop.seq);
        self.stats.hops_unresolved += hops.len() as u64;
        let deliveries = hops.into_iter().flat_map(|hop| hop.deliveries);
        let before = out.len();
        out.extend(deliveries);
        self.stats.events += (out.len() - before) as u64;
        self.stats.flushed += (self.entries.len() - self.removed_count) as u64;
        self.entries.clear();
        self.by_activity.clear();
        self.removed.clear();
        self.removed_count = 0;
        self.anchors.clear();
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The entry `key`, opened (at `anchor`, the estimated arrival) if absent; its activity
    /// moved to `time`.
    fn touch(
        &mut self,
        context: LineContext<'_>,
        instance: &str,
        queue_id: &str,
        anchor: DateTime<FixedOffset>,
    ) -> String {
        let key = entry_key(context.host, instance, queue_id);
        let time = context.timestamp;
        if let Some(entry) = self.entries.get_mut(&key) {
            if time > entry.last_seen {
                self.by_activity
                    .remove(&(micros(entry.last_seen), entry.seq));
                entry.last_seen = time;
                self.by_activity
                    .insert((micros(time), entry.seq), key.clone());
            }
            return key;
        }
        if self.entries.len() >= self.config.max_open_entries.max(1) {
            if let Some((_, oldest)) = self.by_activity.pop_first() {
                self.forget(&oldest);
                self.stats.evicted += 1;
            }
        }
        let seq = self.next_seq();
        // A long queue id never repeats: it names the message by itself. A short one is told
        // apart from its earlier uses by the arrival.
        let arrival = if is_long_queue_id(queue_id) {
            String::new()
        } else {
            anchor.timestamp().to_string()
        };
        let message_id = IdHasher::new()
            .part(context.host)
            .part(instance)
            .part(queue_id)
            .part(&arrival)
            .message_id();
        let anchor = Some(self.anchors.hold(self.current_line(), micros(time)));
        let mut entry = Entry {
            seq,
            host: context.host.to_owned(),
            instance: instance.to_owned(),
            queue_id: queue_id.to_owned(),
            message_id,
            opened: time,
            last_seen: time,
            reception: None,
            sender: None,
            size: None,
            generated: false,
            removed: false,
            origin: None,
            anchor,
            origin_anchor: None,
            recipients: Vec::new(),
            recipient_index: HashMap::new(),
        };
        if let Some(hop) = self.pending_hops.remove(&hop_key(context.host, queue_id)) {
            entry.origin = Some(hop.origin);
            entry.origin_anchor = hop.anchor;
            self.stats.hops_linked += 1;
        }
        self.by_activity.insert((micros(time), seq), key.clone());
        self.entries.insert(key.clone(), entry);
        key
    }

    /// Drops an entry (its place in `by_activity` is the caller's business).
    fn forget(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        if entry.removed {
            self.removed_count -= 1;
        }
        for anchor in [entry.anchor, entry.origin_anchor].into_iter().flatten() {
            self.anchors.release(anchor);
        }
        Some(entry)
    }

    /// Drops an entry and its place in `by_activity`.
    fn close(&mut self, key: &str) {
        if let Some(entry) = self.forget(key) {
            self.by_activity
                .remove(&(micros(entry.last_seen), entry.seq));
        }
    }

    /// `removed`: the entry is done, but kept for [`REMOVED_GRACE`] for lines logged out of
    /// order.
    fn mark_removed(&mut self, key: String, time: DateTime<FixedOffset>) {
        if let Some(entry) = self.entries.get_mut(&key) {
            if !entry.removed {
                entry.removed = true;
                self.removed_count += 1;
                self.removed.push_back((time, entry.seq, key));
            }
        }
    }

    fn queued_line(
        &mut self,
        context: LineContext<'_>,
        line: &PostfixLine<'_>,
        queue_id: &str,
        out: &mut Vec<Map<String, Value>>,
    ) {
        let time = context.timestamp;
        let instance = line.instance;
        match &line.record {
            Record::Client { orig_queue_id, .. } => {
                self.reception(context, instance, queue_id, Reception::Smtpd);
                if let Some(orig) = orig_queue_id {
                    let key = entry_key(context.host, instance, queue_id);
                    if let Some((origin, first)) = self
                        .find_fresh(context.host, instance, orig, time)
                        .map(|e| (e.facts(), e.first_line()))
                    {
                        let unlinked = self.entries.get(&key).is_some_and(|e| e.origin.is_none());
                        if unlinked {
                            let anchor = self.hold_again(first);
                            if let Some(entry) = self.entries.get_mut(&key) {
                                entry.origin = Some(origin);
                                entry.origin_anchor = anchor;
                                self.stats.hops_linked += 1;
                            }
                        }
                    }
                }
            }
            Record::Pickup { sender } => {
                let key = self.reception(context, instance, queue_id, Reception::Pickup);
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.sender.get_or_insert_with(|| (*sender).to_owned());
                }
            }
            Record::MessageId { .. } => {
                self.touch(context, instance, queue_id, time);
            }
            Record::Queued { sender, size, .. } => {
                let key = self.touch(context, instance, queue_id, time);
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.sender = Some((*sender).to_owned());
                    entry.size = size.or(entry.size);
                }
            }
            Record::Notification { notice_id } => {
                self.touch(context, instance, queue_id, time);
                let key = self.touch(context, instance, notice_id, time);
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.generated = true;
                }
            }
            Record::Removed => {
                self.mark_removed(entry_key(context.host, instance, queue_id), time);
            }
            Record::Expired { .. } => {
                let key = entry_key(context.host, instance, queue_id);
                if self.entries.contains_key(&key) {
                    self.touch(context, instance, queue_id, time);
                    self.expire(&key, time, out);
                }
            }
            Record::Delivery(delivery) => {
                let delay = delivery.delay.and_then(seconds_to_millis);
                let anchor = time
                    - TimeDelta::milliseconds(
                        i64::try_from(delay.unwrap_or(0) / 1000 * 1000).unwrap_or(0),
                    );
                let key = self.touch(context, instance, queue_id, anchor);
                self.delivery(&key, context, line.service, delivery, delay, out);
            }
            Record::Reject(reject) => {
                let key = self.touch(context, instance, queue_id, time);
                if reject.action == RejectAction::Reject {
                    if let Some(entry) = self.entries.get(&key) {
                        if entry.is_generated() {
                            self.stats.generated += 1;
                        } else if let Some(to) = reject.to {
                            let facts = entry.facts();
                            let event_id = IdHasher::new()
                                .part("policy_rejection")
                                .part(context.host)
                                .part(instance)
                                .part(queue_id)
                                .part(to)
                                .time(time)
                                .event_id();
                            out.push(self.rejection(
                                event_id,
                                &facts,
                                to,
                                context.timestamp,
                                reject,
                            ));
                        } else {
                            self.stats.rejects_without_recipient += 1;
                        }
                    }
                    // A refused message (not a refused recipient) leaves no queue file and no
                    // `removed` line.
                    let whole_message = line.service == "cleanup"
                        || matches!(reject.stage, "DATA" | "END-OF-MESSAGE" | "header" | "body");
                    if whole_message {
                        self.close(&key);
                    }
                }
            }
        }
    }

    /// smtpd's or pickup's line: the message arrived.
    fn reception(
        &mut self,
        context: LineContext<'_>,
        instance: &str,
        queue_id: &str,
        how: Reception,
    ) -> String {
        let time = context.timestamp;
        let key = entry_key(context.host, instance, queue_id);
        // A reception for an entry that already had one, or already had deliveries, is a
        // new message under a reused id whose `removed` line was missed.
        if let Some(entry) = self.entries.get(&key) {
            let missed_removed = entry.reception.is_some() || !entry.recipients.is_empty();
            if entry.removed || missed_removed {
                if !entry.removed {
                    self.stats.reused += 1;
                }
                self.close(&key);
            }
        }
        let key = self.touch(context, instance, queue_id, time);
        if let Some(entry) = self.entries.get_mut(&key) {
            // Lines of one second may come out of order: the earliest time is the arrival.
            let at = if entry.opened < time {
                entry.opened
            } else {
                time
            };
            entry.reception = Some((at, how));
        }
        key
    }

    /// The entry `id` of `host`, in `instance` or any other, opened within the hop timeout of
    /// `time`.
    fn find_fresh(
        &self,
        host: &str,
        instance: &str,
        id: &str,
        time: DateTime<FixedOffset>,
    ) -> Option<&Entry> {
        std::iter::once(instance)
            .chain(self.instances.iter().map(String::as_str))
            .filter_map(|instance| self.entries.get(&entry_key(host, instance, id)))
            .find(|entry| time - entry.opened <= self.config.hop_timeout)
    }

    fn classify(&mut self, enhanced: Option<&str>, reply: &Reply<'_>) -> u16 {
        let code = (self.config.classify)(enhanced.or(reply.enhanced), reply.code, reply.text);
        if bounce_class(code).is_some() {
            code
        } else {
            self.stats.unknown_bounce_classes += 1;
            UNDETERMINED
        }
    }

    fn delivery(
        &mut self,
        key: &str,
        context: LineContext<'_>,
        service: &str,
        delivery: &Delivery<'_>,
        delay: Option<u64>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        let time = context.timestamp;
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.is_generated() {
            self.stats.generated += 1;
            return;
        }
        if let Status::Other(_) = delivery.status {
            self.stats.ignored_statuses += 1;
            return;
        }
        let address = delivery.orig_to.unwrap_or(delivery.to);
        let (index, new) = entry.recipient(address);
        let facts = entry.facts();
        if new && entry.injects() {
            let event_id = IdHasher::new()
                .part("injection")
                .part(&entry.host)
                .part(&entry.instance)
                .part(&entry.queue_id)
                .part(address)
                .part(&facts.message_id)
                .event_id();
            let reception = facts.injection_time.unwrap_or(entry.opened);
            out.push(
                EventBuilder::new(EventType::Injection, event_id, reception)
                    .message(&facts, true)
                    .recipient(address, true)
                    .build(),
            );
        }
        let recipient = index.and_then(|index| entry.recipients.get(index));
        let retries = recipient.map_or(0, |r| r.deferrals);
        let already_bounced = recipient.is_some_and(|r| r.state == RecipientState::Bounced);
        // Queue time: from the original arrival across hops, else the line's `delay=`.
        let queue_time = match (&entry.origin, facts.injection_time) {
            (Some(_), Some(arrival)) => u64::try_from((time - arrival).num_milliseconds()).ok(),
            _ => delay,
        };
        let event_type = match delivery.status {
            Status::Sent => EventType::Delivery,
            Status::Deferred | Status::SoftBounce => EventType::Delay,
            Status::Bounced if already_bounced => return,
            Status::Bounced => EventType::Bounce,
            Status::Other(_) => return,
        };
        let event_id = IdHasher::new()
            .part(event_type.as_str())
            .part(&entry.host)
            .part(&entry.instance)
            .part(&entry.queue_id)
            .part(delivery.to)
            .part(address)
            .time(time)
            .part(delivery.dsn.unwrap_or(""))
            .event_id();
        let relay = delivery.relay_peer();
        let delv_method = match service {
            "smtp" => Some("esmtp"),
            "lmtp" => Some("lmtp"),
            "local" | "virtual" | "pipe" => Some(service),
            _ => None,
        };
        let mut builder = EventBuilder::new(event_type, event_id, time)
            .message(&facts, true)
            .recipient(address, true)
            .relay_host(relay.map(|peer| peer.name))
            .text("delv_method", delv_method)
            .text("ip_address", relay.map(|peer| peer.addr))
            .int("num_retries", Some(u64::from(retries)))
            // Documented for deliveries and delays, not bounces.
            .int(
                "queue_time",
                queue_time.filter(|_| event_type != EventType::Bounce),
            );
        let hop_to = match delivery.status {
            Status::Sent => queued_as(delivery.reply.text),
            _ => None,
        };
        if event_type != EventType::Delivery {
            let class = self.classify(delivery.dsn, &delivery.reply);
            builder = builder
                .int("error_code", delivery.reply.code.map(u64::from))
                .int("bounce_class", Some(u64::from(class)))
                .text("reason", Some(&canonical_reason(delivery.reply.text)))
                .text("raw_reason", Some(delivery.reply.text));
        }
        let event = builder.build();
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let first = entry.first_line();
        if let Some(recipient) = index.and_then(|index| entry.recipients.get_mut(index)) {
            match delivery.status {
                Status::Sent => recipient.state = RecipientState::Delivered,
                Status::Bounced => recipient.state = RecipientState::Bounced,
                _ => {
                    recipient.deferrals += 1;
                    recipient.last_deferral = Some((
                        delivery.dsn.map(str::to_owned),
                        delivery.reply.text.to_owned(),
                    ));
                }
            }
        }
        if let Some(new_id) = hop_to {
            let instance = entry.instance.clone();
            if let Some(found) = self
                .find_fresh(context.host, &instance, new_id, time)
                .map(|e| entry_key(&e.host, &e.instance, &e.queue_id))
            {
                let unlinked = self.entries.get(&found).is_some_and(|e| e.origin.is_none());
                if unlinked {
                    let anchor = self.hold_again(first);
                    if let Some(next) = self.entries.get_mut(&found) {
                        next.origin = Some(facts);
                        next.origin_anchor = anchor;
                        self.stats.hops_linked += 1;
                    }
                }
                self.mark_handed_on(key, index);
                return;
            }
            let hop = hop_key(context.host, new_id);
            if let Some(waiting) = self
                .pending_hops
                .get_mut(&hop)
                .filter(|_| is_loopback(relay))
            {
                if waiting.from == key {
                    // Another recipient of the same hop: reported with the others if the
                    // new id never appears.
                    waiting.deliveries.push(event);
                    self.mark_handed_on(key, index);
                    return;
                }
                // Two messages handed on under one id: no hop of this host (its ids are
                // unique), but a relay on loopback naming its own ids. Both were delivered.
                if let Some(earlier) = self.pending_hops.remove(&hop) {
                    if let Some(anchor) = earlier.anchor {
                        self.anchors.release(anchor);
                    }
                    self.stats.hops_unresolved += 1;
                    out.extend(earlier.deliveries);
                }
                out.push(event);
                return;
            }
            // Past the cap, a hop is not waited for: it is reported as a delivery at once.
            if is_loopback(relay) && self.pending_hops.len() < self.config.max_open_entries {
                let seq = self.next_seq();
                let anchor = self.hold_again(first);
                self.pending_hops.insert(
                    hop,
                    PendingHop {
                        seq,
                        deadline: time + self.config.hop_timeout,
                        origin: facts,
                        anchor,
                        from: key.to_owned(),
                        deliveries: vec![event],
                    },
                );
                self.mark_handed_on(key, index);
                return;
            }
            if is_loopback(relay) {
                self.stats.hops_unresolved += 1;
            }
        }
        out.push(event);
    }

    fn mark_handed_on(&mut self, key: &str, index: Option<usize>) {
        if let Some(recipient) = self
            .entries
            .get_mut(key)
            .zip(index)
            .and_then(|(entry, index)| entry.recipients.get_mut(index))
        {
            recipient.state = RecipientState::HandedOn;
        }
    }

    /// qmgr expired the message: every recipient still deferred bounces.
    fn expire(
        &mut self,
        key: &str,
        time: DateTime<FixedOffset>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.is_generated() {
            self.stats.generated += 1;
            return;
        }
        let facts = entry.facts();
        for recipient in &mut entry.recipients {
            if recipient.state != RecipientState::Open || recipient.deferrals == 0 {
                continue;
            }
            recipient.state = RecipientState::Bounced;
            let event_id = IdHasher::new()
                .part("bounce/expired")
                .part(&entry.host)
                .part(&entry.instance)
                .part(&entry.queue_id)
                .part(&recipient.address)
                .time(time)
                .event_id();
            let text = recipient
                .last_deferral
                .as_ref()
                .map(|(_, text)| text.as_str());
            let reply = text.map(super::scan::reply);
            out.push(
                EventBuilder::new(EventType::Bounce, event_id, time)
                    .message(&facts, true)
                    .recipient(&recipient.address, true)
                    .int("bounce_class", Some(u64::from(EXPIRED_BOUNCE_CLASS)))
                    .int("error_code", reply.and_then(|r| r.code).map(u64::from))
                    .text("reason", text.map(canonical_reason).as_deref())
                    .text("raw_reason", text)
                    .int("num_retries", Some(u64::from(recipient.deferrals)))
                    .build(),
            );
        }
    }

    fn noqueue_reject(
        &mut self,
        context: LineContext<'_>,
        instance: &str,
        reject: &Reject<'_>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        if reject.action != RejectAction::Reject {
            return;
        }
        let Some(to) = reject.to else {
            self.stats.rejects_without_recipient += 1;
            return;
        };
        // No queue id: the line itself is the message's identity.
        let message_id = IdHasher::new()
            .part(context.host)
            .part(instance)
            .time(context.timestamp)
            .part(context.message)
            .message_id();
        let event_id = IdHasher::new()
            .part("policy_rejection")
            .part(&message_id)
            .part(to)
            .event_id();
        let facts = MessageFacts {
            message_id,
            injection_time: None,
            msg_from: reject.from.map(str::to_owned),
            msg_size: None,
            recv_method: None,
        };
        let event = self.rejection(event_id, &facts, to, context.timestamp, reject);
        out.push(event);
    }

    fn rejection(
        &mut self,
        event_id: String,
        facts: &MessageFacts,
        to: &str,
        time: DateTime<FixedOffset>,
        reject: &Reject<'_>,
    ) -> Map<String, Value> {
        let class = self.classify(None, &reject.reply);
        let proto = reject.proto.map(str::to_ascii_lowercase);
        EventBuilder::new(EventType::PolicyRejection, event_id, time)
            .message(facts, false)
            .text(
                "recv_method",
                if facts.recv_method.is_none() {
                    proto.as_deref()
                } else {
                    None
                },
            )
            .recipient(to, false)
            .text("remote_addr", reject.client.map(|client| client.addr))
            .int("error_code", reject.reply.code.map(u64::from))
            .int("bounce_class", Some(u64::from(class)))
            .text("reason", Some(&canonical_reason(reject.reply.text)))
            .text("raw_reason", Some(reject.reply.text))
            .build()
    }
}
