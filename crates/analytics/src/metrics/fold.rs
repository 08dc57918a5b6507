//! Folding events into counters: the part of the metrics ETL that does not depend on the store.
//!
//! An [`Aggregator`] reads stored events (see `eventhose_model::Event`), adds each to the
//! [`Tally`] of its minute and dimension combination, and to the breakdown of its reason, link
//! or attempt. A store commits the tally (with the hose position it covers) and the aggregator
//! starts a new one.
//!
//! # Unique metrics
//! `count_unique_*` count messages, not events. The [`EngagementLedger`] remembers, per message
//! (a 128-bit hash of its `message_id`), which kinds of engagement it has had and on which day
//! it first had them. A message adds one to `count_unique_rendered` in the minute of its first
//! render, and never again while the ledger remembers it. The ledger keeps
//! `unique_window_days` days (by default the raw-event window); a message first engaged longer
//! ago than that and engaged again is counted again. So over any range, a unique metric is the
//! exact number of messages whose first engagement of that kind (within the window) fell in the
//! range. The ledger is stored with the aggregates, in the same commit.
//!
//! # Repeats
//! An event that enters the hose twice (a client's retry, a source re-reading its input, a
//! broker's redelivery) is counted once: the aggregator keeps the [`AppliedIds`] of the events
//! it folded within the deduplication window, skips an event whose identity (account and
//! `event_id`) it holds, and hands the new identities to the store in the [`Tally`], which
//! stores them in the same commit.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use eventhose_model::{
    event_identity, unix_minute, AppliedId, AppliedIds, BounceCategory, DedupWindow, EventType,
};
use hashbrown::{Equivalent, HashMap};
use serde::Deserialize;

use super::query::rejection_class;
use crate::stored::{self, Raw};
use crate::{BreakdownKind, Counter, Counters, Dimension};

/// The longest reason or link label kept; longer ones are cut (at a character boundary).
pub const MAX_LABEL_CHARS: usize = 256;

/// Engagement kinds remembered per message, as bits.
pub mod engagement {
    /// Rendered (bottom pixel).
    pub const RENDERED: u8 = 1;
    /// Rendered, not prefetched.
    pub const NP_RENDERED: u8 = 2;
    /// Initially rendered (top pixel).
    pub const INITIAL: u8 = 4;
    /// Initially rendered, not prefetched.
    pub const NP_INITIAL: u8 = 8;
    /// Rendered, initially rendered or clicked.
    pub const CONFIRMED: u8 = 16;
    /// … not prefetched.
    pub const NP_CONFIRMED: u8 = 32;
    /// Clicked.
    pub const CLICKED: u8 = 64;
    /// For a (message, link) key: the link was clicked.
    pub const LINK_CLICKED: u8 = 128;
}

/// The dimension values of an aggregate row. Text dimensions are empty when the event has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dimensions {
    /// `subaccount_id` (0 = primary).
    pub subaccount: u64,
    /// The text dimensions in [`Dimension::ALL`] order after the subaccount.
    pub text: [Box<str>; 8],
}

impl Dimensions {
    /// The value of `dimension` as text (the subaccount as a decimal number).
    pub fn value(&self, dimension: Dimension) -> Cow<'_, str> {
        match dimension {
            Dimension::Subaccount => Cow::Owned(self.subaccount.to_string()),
            other => Cow::Borrowed(&self.text[other.index() - 1]),
        }
    }
}

/// Key of one aggregate row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowKey {
    /// The minute, as unix seconds divisible by 60.
    pub minute: i64,
    /// The dimensions.
    pub dims: Dimensions,
}

impl Hash for RowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_row(
            self.minute,
            self.dims.subaccount,
            self.dims.text.iter().map(|s| &**s),
            state,
        );
    }
}

/// A borrowed [`RowKey`], so looking up an existing row allocates nothing.
struct RowKeyRef<'a> {
    minute: i64,
    subaccount: u64,
    text: [&'a str; 8],
}

impl Hash for RowKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_row(
            self.minute,
            self.subaccount,
            self.text.iter().copied(),
            state,
        );
    }
}

impl Equivalent<RowKey> for RowKeyRef<'_> {
    fn equivalent(&self, key: &RowKey) -> bool {
        self.minute == key.minute
            && self.subaccount == key.dims.subaccount
            && self
                .text
                .iter()
                .zip(key.dims.text.iter())
                .all(|(a, b)| *a == &**b)
    }
}

fn hash_row<'a, H: Hasher>(
    minute: i64,
    subaccount: u64,
    text: impl Iterator<Item = &'a str>,
    state: &mut H,
) {
    minute.hash(state);
    subaccount.hash(state);
    for part in text {
        part.hash(state);
    }
}

impl RowKeyRef<'_> {
    fn to_owned_key(&self) -> RowKey {
        RowKey {
            minute: self.minute,
            dims: Dimensions {
                subaccount: self.subaccount,
                text: self.text.map(Box::from),
            },
        }
    }
}

/// Key of one breakdown row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownKey {
    /// The row it refines.
    pub row: RowKey,
    /// Which report.
    pub kind: BreakdownKind,
    /// Reason, link name or attempt label.
    pub label: Box<str>,
    /// Bounce class, rejection class or 0.
    pub class: u16,
}

impl Hash for BreakdownKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.row.hash(state);
        hash_breakdown(self.kind, &self.label, self.class, state);
    }
}

/// A borrowed [`BreakdownKey`], so counting into an existing breakdown row allocates nothing.
struct BreakdownKeyRef<'a> {
    row: &'a RowKeyRef<'a>,
    kind: BreakdownKind,
    label: &'a str,
    class: u16,
}

impl Hash for BreakdownKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.row.hash(state);
        hash_breakdown(self.kind, self.label, self.class, state);
    }
}

impl Equivalent<BreakdownKey> for BreakdownKeyRef<'_> {
    fn equivalent(&self, key: &BreakdownKey) -> bool {
        self.kind == key.kind
            && self.class == key.class
            && self.label == &*key.label
            && self.row.equivalent(&key.row)
    }
}

fn hash_breakdown<H: Hasher>(kind: BreakdownKind, label: &str, class: u16, state: &mut H) {
    kind.hash(state);
    label.hash(state);
    class.hash(state);
}

impl BreakdownKeyRef<'_> {
    fn to_owned_key(&self) -> BreakdownKey {
        BreakdownKey {
            row: self.row.to_owned_key(),
            kind: self.kind,
            label: self.label.into(),
            class: self.class,
        }
    }
}

/// What a set of events adds: counters per row and breakdown counts.
#[derive(Debug, Default)]
pub struct Tally {
    /// Counters per minute and dimensions.
    pub rows: HashMap<RowKey, Counters>,
    /// Breakdown counts (meaning per [`BreakdownKind`]).
    pub breakdowns: HashMap<BreakdownKey, [u64; 4]>,
    /// Events folded in.
    pub events: u64,
    /// The identities of the events folded in, for the store to remember in the same commit.
    pub applied: Vec<AppliedId>,
}

impl Tally {
    /// True when nothing was folded in.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }
}

/// First engagements per message (see the module docs).
#[derive(Debug, Default)]
pub struct EngagementLedger {
    seen: HashMap<u128, (u8, i32)>,
    changes: Vec<LedgerChange>,
}

/// A change to the ledger, to be stored with the tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerChange {
    /// The message (or message and link) key.
    pub key: u128,
    /// The engagement bits newly set.
    pub flags: u8,
    /// Day (days since the unix epoch, UTC) of the engagement.
    pub day: i32,
}

impl EngagementLedger {
    /// Restores a ledger from stored changes (flags of one key are ORed; its day is the earliest).
    pub fn restore(changes: impl IntoIterator<Item = LedgerChange>) -> Self {
        let mut ledger = EngagementLedger::default();
        for change in changes {
            let entry = ledger.seen.entry(change.key).or_insert((0, change.day));
            entry.0 |= change.flags;
            entry.1 = entry.1.min(change.day);
        }
        ledger
    }

    /// Sets `flags` for `key`; returns the bits that were not set before.
    fn claim(&mut self, key: u128, flags: u8, day: i32) -> u8 {
        let entry = self.seen.entry(key).or_insert((0, day));
        let new = flags & !entry.0;
        if new != 0 {
            entry.0 |= new;
            self.changes.push(LedgerChange {
                key,
                flags: new,
                day,
            });
        }
        new
    }

    /// Forgets entries first set before `day` (retention).
    pub fn forget_before(&mut self, day: i32) {
        self.seen.retain(|_, (_, first)| *first >= day);
    }

    /// Changes since the last [`EngagementLedger::take_changes`].
    pub fn take_changes(&mut self) -> Vec<LedgerChange> {
        std::mem::take(&mut self.changes)
    }

    /// Messages (and message-link pairs) remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The fields of a stored event that metrics read; everything else is skipped (checked, not
/// decoded).
#[derive(Debug, PartialEq, Deserialize)]
struct MetricFields<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subaccount_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    recipient_domain: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rcpt_to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mailbox_provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mailbox_provider_region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sending_domain: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    campaign_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    template_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ip_pool: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sending_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    bounce_class: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    raw_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    num_retries: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    queue_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    msg_size: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_link_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_link_url: Option<Cow<'a, str>>,
    #[serde(default)]
    prefetched: Option<bool>,
}

impl<'a> MetricFields<'a> {
    /// Reads the fields of `stored`: by [`MetricFields::scan`] when it can, else (escaped
    /// strings, unusual shapes, every error) by serde_json, whose result and error are the
    /// contract.
    fn read(stored: &'a [u8]) -> Result<Self, FoldError> {
        match Self::scan(stored) {
            Some(fields) => Ok(fields),
            None => serde_json::from_slice(stored).map_err(|e| FoldError(e.to_string())),
        }
    }

    /// The fast path of [`MetricFields::read`]: [`stored::scan`] with the fields read as serde's
    /// derive reads them (strings without escapes, borrowed, or `null`; `prefetched` as a
    /// flag). `None` for anything else, including repeated or missing fields, so serde_json
    /// then reads or reports it.
    fn scan(stored: &'a [u8]) -> Option<Self> {
        let fields = stored::scan::<23>(stored, |name| {
            Some(match name {
                "type" => 0,
                "timestamp" => 1,
                "message_id" => 2,
                "subaccount_id" => 3,
                "recipient_domain" => 4,
                "rcpt_to" => 5,
                "mailbox_provider" => 6,
                "mailbox_provider_region" => 7,
                "sending_domain" => 8,
                "campaign_id" => 9,
                "template_id" => 10,
                "ip_pool" => 11,
                "sending_ip" => 12,
                "bounce_class" => 13,
                "reason" => 14,
                "raw_reason" => 15,
                "num_retries" => 16,
                "queue_time" => 17,
                "msg_size" => 18,
                "target_link_name" => 19,
                "target_link_url" => 20,
                "prefetched" => 21,
                "event_id" => 22,
                _ => return None,
            })
        })?;
        if fields.repeated {
            return None;
        }
        // `v[i]` is the field numbered `i` above.
        let v = fields.values;
        Some(MetricFields {
            event_type: plain(v[0])??,
            timestamp: plain(v[1])??,
            event_id: plain(v[22])?,
            message_id: plain(v[2])?,
            subaccount_id: plain(v[3])?,
            recipient_domain: plain(v[4])?,
            rcpt_to: plain(v[5])?,
            mailbox_provider: plain(v[6])?,
            mailbox_provider_region: plain(v[7])?,
            sending_domain: plain(v[8])?,
            campaign_id: plain(v[9])?,
            template_id: plain(v[10])?,
            ip_pool: plain(v[11])?,
            sending_ip: plain(v[12])?,
            bounce_class: plain(v[13])?,
            reason: plain(v[14])?,
            raw_reason: plain(v[15])?,
            num_retries: plain(v[16])?,
            queue_time: plain(v[17])?,
            msg_size: plain(v[18])?,
            target_link_name: plain(v[19])?,
            target_link_url: plain(v[20])?,
            prefetched: match v[21] {
                None | Some(Raw::Json("null")) => None,
                Some(Raw::Json("true")) => Some(true),
                Some(Raw::Json("false")) => Some(false),
                Some(_) => return None,
            },
        })
    }
}

/// A scanned optional string as serde reads it when it can borrow it: absent or `null` is
/// `None`; `None` (give up) for escaped strings and other values.
fn plain(value: Option<Raw<'_>>) -> Option<Option<Cow<'_, str>>> {
    match value {
        None | Some(Raw::Json("null")) => Some(None),
        Some(Raw::Plain(text)) => Some(Some(Cow::Borrowed(text))),
        Some(Raw::Json(_)) => None,
    }
}

/// A stored event that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable stored event: {0}")]
pub struct FoldError(String);

/// Folds events into a [`Tally`], consulting and updating an [`EngagementLedger`].
#[derive(Debug, Default)]
pub struct Aggregator {
    /// The tally since the last commit.
    pub tally: Tally,
    /// First engagements.
    pub ledger: EngagementLedger,
    /// The events folded within the deduplication window (off by default).
    pub applied: AppliedIds,
}

impl Aggregator {
    /// An aggregator continuing from a restored ledger.
    pub fn with_ledger(ledger: EngagementLedger) -> Self {
        Aggregator {
            tally: Tally::default(),
            ledger,
            applied: AppliedIds::default(),
        }
    }

    /// An aggregator continuing from a store's checkpoint, skipping repeats of the events
    /// folded within `dedup_window`.
    pub fn resumed(checkpoint: super::store::MetricsCheckpoint, dedup_window: DedupWindow) -> Self {
        Aggregator {
            tally: Tally::default(),
            ledger: checkpoint.ledger,
            applied: AppliedIds::restored(dedup_window, checkpoint.applied, unix_minute()),
        }
    }

    /// Takes the tally and the ledger changes made while folding it, for a commit.
    pub fn take(&mut self) -> (Tally, Vec<LedgerChange>) {
        let mut tally = std::mem::take(&mut self.tally);
        tally.applied = self.applied.take_added();
        (tally, self.ledger.take_changes())
    }

    /// Folds one stored event, unless it repeats one folded within the deduplication window.
    /// Event types without metrics (relay, SMS, A/B test, ingest outcomes) are read and
    /// ignored.
    pub fn fold(&mut self, stored: &[u8]) -> Result<(), FoldError> {
        let f = MetricFields::read(stored)?;
        let event_type: EventType = f
            .event_type
            .parse()
            .map_err(|e: eventhose_model::UnknownEventType| FoldError(e.to_string()))?;
        let seconds = eventhose_model::parse_timestamp_str(&f.timestamp)
            .map_err(|e| FoldError(e.to_string()))?;
        let subaccount = number(&f.subaccount_id).unwrap_or(0);
        if let Some(event_id) = f.event_id.as_deref() {
            if !self.applied.is_off()
                && !self
                    .applied
                    .insert(event_identity(subaccount, event_id), unix_minute())
            {
                return Ok(());
            }
        }
        let minute = seconds.div_euclid(60) * 60;
        let day = i32::try_from(seconds.div_euclid(86_400)).unwrap_or(i32::MAX);
        let domain = match f.recipient_domain.as_deref() {
            Some(domain) => Cow::Borrowed(domain),
            None => f
                .rcpt_to
                .as_deref()
                .and_then(|to| to.rsplit_once('@'))
                .map_or(Cow::Borrowed(""), |(_, domain)| ascii_lowercase(domain)),
        };
        // An MTA's events rarely name the mailbox provider: like SparkPost, tell it from the
        // recipient's domain when the event does not.
        let (provider, region) = match (&f.mailbox_provider, &f.mailbox_provider_region) {
            (None, None) => eventhose_model::mailbox_provider(&domain)
                .map_or(("", ""), |known| (known.name, known.region)),
            (provider, region) => (text(provider), text(region)),
        };
        let key = RowKeyRef {
            minute,
            subaccount,
            text: [
                &domain,
                provider,
                region,
                text(&f.sending_domain),
                text(&f.campaign_id),
                text(&f.template_id),
                text(&f.ip_pool),
                text(&f.sending_ip),
            ],
        };
        let first_attempt = number(&f.num_retries).unwrap_or(0) == 0;
        let not_prefetched = f.prefetched != Some(true);
        let mut add = Counters::default();
        let mut breakdown: Option<(BreakdownKind, &str, u16, [u64; 4])> = None;
        let reason = || label(f.reason.as_deref().or(f.raw_reason.as_deref()));

        use Counter as C;
        use EventType as T;
        match event_type {
            T::Injection => add.bump(C::Injected),
            T::PolicyRejection | T::GenerationRejection | T::GenerationFailure => {
                let (counter, class) = match event_type {
                    T::PolicyRejection => (C::PolicyRejection, rejection_class::POLICY),
                    T::GenerationRejection => (
                        C::GenerationRejection,
                        rejection_class::GENERATION_REJECTION,
                    ),
                    _ => (C::GenerationFailed, rejection_class::GENERATION_FAILURE),
                };
                add.bump(counter);
                breakdown = Some((BreakdownKind::Rejection, reason(), class, [1, 0, 0, 0]));
            }
            T::Delivery => {
                let retries = number(&f.num_retries).unwrap_or(0);
                let queue_time = number(&f.queue_time).unwrap_or(0);
                if first_attempt {
                    add.bump(C::DeliveredFirst);
                    add.add(C::DeliveryTimeFirst, queue_time);
                } else {
                    add.bump(C::DeliveredSubsequent);
                    add.add(C::DeliveryTimeSubsequent, queue_time);
                }
                add.add(C::MsgVolume, number(&f.msg_size).unwrap_or(0));
                let attempt = match retries {
                    0 => "1",
                    1 => "2",
                    _ => "3+",
                };
                breakdown = Some((BreakdownKind::Attempt, attempt, 0, [1, 0, 0, 0]));
            }
            T::Bounce | T::OutOfBand => {
                let class_code = number(&f.bounce_class)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(0);
                let category = eventhose_model::bounce_class(class_code).map(|c| c.category);
                let inband = event_type == T::Bounce;
                let counts = if category == Some(BounceCategory::Admin) {
                    add.bump(C::AdminBounce);
                    [0, 0, 0, 1]
                } else {
                    add.bump(if inband {
                        C::InbandBounce
                    } else {
                        C::OutofbandBounce
                    });
                    add.bump(match category {
                        Some(BounceCategory::Hard) => C::HardBounce,
                        Some(BounceCategory::Soft) => C::SoftBounce,
                        Some(BounceCategory::Block) => C::BlockBounce,
                        _ => C::UndeterminedBounce,
                    });
                    if inband {
                        [1, 1, 0, 0]
                    } else {
                        [1, 0, 1, 0]
                    }
                };
                breakdown = Some((BreakdownKind::Bounce, reason(), class_code, counts));
            }
            T::Delay => {
                add.bump(C::Delayed);
                let first = u64::from(first_attempt);
                add.add(C::DelayedFirst, first);
                breakdown = Some((BreakdownKind::Delay, reason(), 0, [1, first, 0, 0]));
            }
            T::Open | T::AmpOpen | T::InitialOpen | T::AmpInitialOpen => {
                use engagement::*;
                let initial = matches!(event_type, T::InitialOpen | T::AmpInitialOpen);
                let (all, np) = if initial {
                    (C::InitialRendered, C::NonprefetchedInitialRendered)
                } else {
                    (C::Rendered, C::NonprefetchedRendered)
                };
                add.bump(all);
                let mut flags = CONFIRMED | if initial { INITIAL } else { RENDERED };
                if not_prefetched {
                    add.bump(np);
                    flags |= NP_CONFIRMED | if initial { NP_INITIAL } else { NP_RENDERED };
                }
                if let Some(message) = f.message_id.as_deref() {
                    let new = self.ledger.claim(message_key(message, None), flags, day);
                    count_firsts(&mut add, new);
                }
            }
            T::Click | T::AmpClick => {
                use engagement::*;
                add.bump(C::Clicked);
                let link = label(
                    f.target_link_name
                        .as_deref()
                        .or(f.target_link_url.as_deref()),
                );
                let mut per_link = 0;
                if let Some(message) = f.message_id.as_deref() {
                    let new = self.ledger.claim(
                        message_key(message, None),
                        CLICKED | CONFIRMED | NP_CONFIRMED,
                        day,
                    );
                    count_firsts(&mut add, new);
                    let new_link =
                        self.ledger
                            .claim(message_key(message, Some(link)), LINK_CLICKED, day);
                    per_link = u64::from(new_link != 0);
                }
                breakdown = Some((BreakdownKind::Link, link, 0, [per_link, 1, 0, 0]));
            }
            T::SpamComplaint => add.bump(C::SpamComplaint),
            T::ListUnsubscribe | T::LinkUnsubscribe => add.bump(C::Unsubscribe),
            _ => {}
        }

        self.tally.events += 1;
        if !add.is_zero() {
            match self.tally.rows.get_mut(&key) {
                Some(counters) => counters.merge(&add),
                None => {
                    self.tally.rows.insert(key.to_owned_key(), add);
                }
            }
        }
        if let Some((kind, label, class, counts)) = breakdown {
            let key = BreakdownKeyRef {
                row: &key,
                kind,
                label,
                class,
            };
            match self.tally.breakdowns.get_mut(&key) {
                Some(slot) => {
                    for (total, n) in slot.iter_mut().zip(counts) {
                        *total += n;
                    }
                }
                None => {
                    self.tally.breakdowns.insert(key.to_owned_key(), counts);
                }
            }
        }
        Ok(())
    }
}

/// Adds the unique counters for engagement bits set for the first time.
fn count_firsts(add: &mut Counters, new: u8) {
    use engagement::*;
    for (bit, counter) in [
        (RENDERED, Counter::UniqueRendered),
        (NP_RENDERED, Counter::NonprefetchedUniqueRendered),
        (INITIAL, Counter::UniqueInitialRendered),
        (NP_INITIAL, Counter::NonprefetchedUniqueInitialRendered),
        (CONFIRMED, Counter::UniqueConfirmedOpened),
        (NP_CONFIRMED, Counter::NonprefetchedUniqueConfirmedOpened),
        (CLICKED, Counter::UniqueClicked),
    ] {
        if new & bit != 0 {
            add.bump(counter);
        }
    }
}

/// The ledger key of a message, or of a message and one of its links.
fn message_key(message_id: &str, link: Option<&str>) -> u128 {
    match link {
        None => xxhash_rust::xxh3::xxh3_128(message_id.as_bytes()),
        Some(link) => {
            let mut bytes = Vec::with_capacity(message_id.len() + link.len() + 1);
            bytes.extend_from_slice(message_id.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(link.as_bytes());
            xxhash_rust::xxh3::xxh3_128(&bytes)
        }
    }
}

/// An optional text field, empty when absent.
fn text<'a>(value: &'a Option<Cow<'_, str>>) -> &'a str {
    value.as_deref().unwrap_or("")
}

fn number(value: &Option<Cow<'_, str>>) -> Option<u64> {
    value.as_deref().and_then(|text| text.parse().ok())
}

/// A reason or link label, cut to [`MAX_LABEL_CHARS`].
fn label(text: Option<&str>) -> &str {
    let text = text.unwrap_or("");
    match text.char_indices().nth(MAX_LABEL_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// `text` with ASCII letters lower-cased, copied only when it has upper-case ones.
fn ascii_lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    fn event(json: &str) -> Vec<u8> {
        json.as_bytes().to_vec()
    }

    fn total(agg: &Aggregator, counter: Counter) -> u64 {
        agg.tally.rows.values().map(|c| c.get(counter)).sum()
    }

    #[test]
    fn events_land_in_their_minute_and_dimensions() {
        let mut agg = Aggregator::default();
        agg.fold(&event(r#"{"type":"injection","timestamp":"1700000040","event_id":"1","recipient_domain":"gmail.com","campaign_id":"c1","subaccount_id":"7"}"#)).unwrap();
        agg.fold(&event(r#"{"type":"injection","timestamp":"1700000099","event_id":"2","recipient_domain":"gmail.com","campaign_id":"c1","subaccount_id":"7"}"#)).unwrap();
        agg.fold(&event(r#"{"type":"injection","timestamp":"1700000100","event_id":"3","rcpt_to":"a@Yahoo.com"}"#)).unwrap();
        assert_eq!(agg.tally.rows.len(), 2);
        let first = agg
            .tally
            .rows
            .iter()
            .find(|(k, _)| k.minute == 1_700_000_040)
            .expect("first minute");
        assert_eq!(first.1.get(Counter::Injected), 2);
        assert_eq!(first.0.dims.subaccount, 7);
        assert_eq!(&*first.0.dims.value(Dimension::Campaign), "c1");
        let second = agg
            .tally
            .rows
            .keys()
            .find(|k| k.minute == 1_700_000_100)
            .expect("second minute");
        assert_eq!(&*second.dims.value(Dimension::Domain), "yahoo.com");
        assert_eq!(agg.tally.events, 3);
    }

    #[test]
    fn the_mailbox_provider_comes_from_the_domain_when_the_event_names_none() {
        let mut agg = Aggregator::default();
        agg.fold(&event(r#"{"type":"delivery","timestamp":"1700000040","event_id":"1","rcpt_to":"a@GMail.com"}"#)).unwrap();
        agg.fold(&event(r#"{"type":"delivery","timestamp":"1700000100","event_id":"2","rcpt_to":"b@gmail.com","mailbox_provider":"Own Name","mailbox_provider_region":"Own Region"}"#)).unwrap();
        agg.fold(&event(r#"{"type":"delivery","timestamp":"1700000160","event_id":"3","rcpt_to":"c@example.com"}"#)).unwrap();
        let mut providers: Vec<(i64, String, String)> = agg
            .tally
            .rows
            .keys()
            .map(|k| {
                let dims = &k.dims;
                (
                    k.minute,
                    dims.value(Dimension::MailboxProvider).to_string(),
                    dims.value(Dimension::MailboxProviderRegion).to_string(),
                )
            })
            .collect();
        providers.sort();
        let named = |minute: i64, provider: &str, region: &str| {
            (minute, provider.to_owned(), region.to_owned())
        };
        assert_eq!(
            providers,
            [
                named(1_700_000_040, "Gmail", "Global"),
                named(1_700_000_100, "Own Name", "Own Region"),
                named(1_700_000_160, "", ""),
            ],
            "derived, named by the event, unknown"
        );
    }

    #[test]
    fn bounces_split_by_kind_and_category() {
        let mut agg = Aggregator::default();
        for (t, class) in [
            ("bounce", 10),
            ("bounce", 21),
            ("out_of_band", 10),
            ("bounce", 25),
        ] {
            agg.fold(&event(&format!(r#"{{"type":"{t}","timestamp":"1700000000","event_id":"x","bounce_class":"{class}","reason":"550 no"}}"#))).unwrap();
        }
        assert_eq!(total(&agg, Counter::InbandBounce), 2);
        assert_eq!(total(&agg, Counter::OutofbandBounce), 1);
        assert_eq!(total(&agg, Counter::HardBounce), 2);
        assert_eq!(total(&agg, Counter::SoftBounce), 1);
        assert_eq!(total(&agg, Counter::AdminBounce), 1);
        let by_class: u64 = agg
            .tally
            .breakdowns
            .iter()
            .filter(|(k, _)| k.kind == BreakdownKind::Bounce && k.class == 10)
            .map(|(_, c)| c[0])
            .sum();
        assert_eq!(by_class, 2);
    }

    #[test]
    fn unique_metrics_count_each_message_once_across_commits() {
        let mut agg = Aggregator::default();
        let open = |id: &str, m: &str| {
            event(&format!(
                r#"{{"type":"open","timestamp":"1700000000","event_id":"{id}","message_id":"{m}"}}"#
            ))
        };
        agg.fold(&open("1", "m1")).unwrap();
        agg.fold(&open("2", "m1")).unwrap();
        agg.fold(&event(r#"{"type":"click","timestamp":"1700000000","event_id":"3","message_id":"m1","target_link_name":"buy"}"#)).unwrap();
        assert_eq!(total(&agg, Counter::Rendered), 2);
        assert_eq!(total(&agg, Counter::UniqueRendered), 1);
        assert_eq!(total(&agg, Counter::UniqueConfirmedOpened), 1);
        assert_eq!(total(&agg, Counter::UniqueClicked), 1);
        let (_, changes) = agg.take();
        // A restart restores the ledger from the stored changes: m1 is not counted again.
        let mut again = Aggregator::with_ledger(EngagementLedger::restore(changes));
        again.fold(&open("4", "m1")).unwrap();
        again.fold(&open("5", "m2")).unwrap();
        assert_eq!(total(&again, Counter::UniqueRendered), 1);
        assert_eq!(total(&again, Counter::Rendered), 2);
    }

    #[test]
    fn prefetched_renders_are_kept_apart() {
        let mut agg = Aggregator::default();
        agg.fold(&event(r#"{"type":"open","timestamp":"1700000000","event_id":"1","message_id":"m","prefetched":true}"#)).unwrap();
        assert_eq!(total(&agg, Counter::UniqueRendered), 1);
        assert_eq!(total(&agg, Counter::NonprefetchedUniqueRendered), 0);
        agg.fold(&event(
            r#"{"type":"open","timestamp":"1700000000","event_id":"2","message_id":"m"}"#,
        ))
        .unwrap();
        assert_eq!(total(&agg, Counter::UniqueRendered), 1);
        assert_eq!(total(&agg, Counter::NonprefetchedUniqueRendered), 1);
    }

    #[test]
    fn the_domain_comes_from_rcpt_to_only_without_recipient_domain() {
        for (fields, domain) in [
            (r#""recipient_domain":"","rcpt_to":"a@B.example""#, ""),
            (
                r#""recipient_domain":"Keep.Case","rcpt_to":"a@b.example""#,
                "Keep.Case",
            ),
            (r#""rcpt_to":"a@b@Mail.Example""#, "mail.example"),
            (r#""rcpt_to":"a@b.example""#, "b.example"),
            (r#""rcpt_to":"nobody""#, ""),
        ] {
            let mut agg = Aggregator::default();
            agg.fold(&event(&format!(
                r#"{{"type":"injection","timestamp":"1700000000",{fields}}}"#
            )))
            .unwrap();
            let key = agg.tally.rows.keys().next().expect("a row");
            assert_eq!(&*key.dims.value(Dimension::Domain), domain, "{fields}");
        }
        // Only a domain with upper case is copied.
        assert!(matches!(ascii_lowercase("b.example"), Cow::Borrowed(_)));
        assert_eq!(ascii_lowercase("B.Example"), "b.example");
    }

    #[test]
    fn labels_are_cut_and_breakdown_rows_counted_in_place() {
        let long = "é".repeat(MAX_LABEL_CHARS + 44);
        let bounce = |reason: &str| {
            event(&format!(
                r#"{{"type":"bounce","timestamp":"1700000000","bounce_class":"10","reason":"{reason}"}}"#
            ))
        };
        let mut agg = Aggregator::default();
        agg.fold(&bounce(&long)).unwrap();
        agg.fold(&bounce(&long)).unwrap();
        agg.fold(&bounce("550 no")).unwrap();
        assert_eq!(agg.tally.breakdowns.len(), 2);
        let (key, counts) = agg
            .tally
            .breakdowns
            .iter()
            .find(|(k, _)| k.label.len() > 6)
            .expect("the long reason");
        assert_eq!(key.label.chars().count(), MAX_LABEL_CHARS);
        assert!(long.starts_with(&*key.label));
        assert_eq!(counts, &[2, 2, 0, 0]);
        // The borrowed key finds the owned one: same hash, equivalent.
        let row = RowKeyRef {
            minute: key.row.minute,
            subaccount: key.row.dims.subaccount,
            text: key.row.dims.text.each_ref().map(|t| &**t),
        };
        let borrowed = BreakdownKeyRef {
            row: &row,
            kind: key.kind,
            label: &key.label,
            class: key.class,
        };
        let hasher = agg.tally.breakdowns.hasher();
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(key));
        assert!(borrowed.equivalent(key));
        assert_eq!(&borrowed.to_owned_key(), key);
    }

    #[test]
    fn escaped_strings_are_decoded_by_serde_json() {
        let stored = event(
            r#"{"type":"bounce","timestamp":"1700000000","bounce_class":"10","reason":"550 \"no\" \u00e9"}"#,
        );
        assert!(MetricFields::scan(&stored).is_none());
        let fields = MetricFields::read(&stored).unwrap();
        assert!(matches!(fields.reason, Some(Cow::Owned(_))));
        let mut agg = Aggregator::default();
        agg.fold(&stored).unwrap();
        let key = agg.tally.breakdowns.keys().next().expect("a breakdown");
        assert_eq!(&*key.label, "550 \"no\" é");
    }

    /// Whatever the fast path accepts, serde_json reads to the same fields (the inputs and
    /// the scanner's own differential test are in `stored`).
    #[test]
    fn scan_reads_what_serde_json_reads() {
        for input in &stored::tests::EVENTS[..3] {
            assert!(MetricFields::scan(input.as_bytes()).is_some(), "{input}");
        }
        for input in stored::tests::differential_inputs() {
            if let Some(fast) = MetricFields::scan(&input) {
                let slow: Result<MetricFields<'_>, _> = serde_json::from_slice(&input);
                assert_eq!(Some(fast), slow.ok(), "{}", String::from_utf8_lossy(&input));
            }
        }
    }

    #[test]
    fn unreadable_events_are_errors() {
        let mut agg = Aggregator::default();
        assert!(agg.fold(b"nope").is_err());
        assert!(agg.fold(br#"{"type":"teleport","timestamp":"1"}"#).is_err());
        assert!(agg.fold(br#"{"type":"open","timestamp":"soon"}"#).is_err());
    }
}
