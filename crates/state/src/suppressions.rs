//! Suppressions: SparkPost-style suppression list entries, their validation, and the storage
//! contract ([`SuppressionStore`]) the API and the suppressions subscriber rely on.
//!
//! - **Identity.** An entry is (account, recipient key, type, list id). The key is the whole
//!   address lower-cased (`Local@Example.COM` → `local@example.com`): RFC 5321 lets a local part
//!   be case-sensitive, but mailbox providers and ESPs treat addresses without regard to case, and
//!   SparkPost reports `rcpt_to` in lower case, so entries are matched, de-duplicated and deleted
//!   that way; the address as last written is shown. Addresses are
//!   dot-atom local parts (≤ 64 bytes) at host names of two or more labels, ≤ 254 bytes in all;
//!   quoted local parts and address literals are refused. List ids follow SparkPost (1–255 of
//!   letters, digits, `-`, `_`, `.`; no leading, trailing or doubled dots). Descriptions ≤ 1,024
//!   characters (automatic ones are cut to that).
//! - **Automatic entries** (subscriber `suppressions`): `bounce`/`out_of_band` with a Hard
//!   `bounce_class` (10, 30, 90) → `Bounce Rule`, description = `reason`, type from
//!   `transactional` (non-zero → transactional, 0 → non_transactional, absent → both types);
//!   `spam_complaint` → `Spam Complaint`, `list_unsubscribe` → `List Unsubscribe`,
//!   `link_unsubscribe` → `Unsubscribe Link`, all non_transactional. Recipient = `raw_rcpt_to`,
//!   else `rcpt_to`; account = `subaccount_id` (absent or 0 = primary); account-level (no list id).
//! - **Precedence.** `Compliance` is replaced only by `Compliance`; `Manually Added` (every API
//!   write) replaces anything but `Compliance`; an automatic entry replaces only an automatic one,
//!   and only when its event happened later than the stored entry's (each entry keeps the time of
//!   what it reports). So a redelivered event changes nothing, and an old event never undoes a
//!   newer one. The API refuses to create, change or delete `Compliance` entries (403; a bulk
//!   request touching one applies nothing).
//! - **Times.** `created`/`updated` are when the store wrote the entry (not the event time), so a
//!   client syncing by `from`/`to` windows never misses late events. `to` has no default bound.
//! - **Search.** Sorted by `updated` (default `desc`), ties by a stable storage position; cursors
//!   are opaque (`base64url("s1:updated:position")`), page numbers reach the first 10,000 results.
//!   `description` matches when every word occurs (ASCII case ignored); `description_strict=true`
//!   matches the exact text. `list_id=` selects account-level entries. Without
//!   `X-MSYS-SUBACCOUNT` a primary key reads every list and writes the primary one.
//!
//! Which write may replace which entry is decided by [`SuppressionSource::may_replace`].

pub(crate) mod query;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine;

use crate::StateError;

/// Longest recipient address accepted, in bytes (RFC 5321's path limit less the brackets).
pub const MAX_RECIPIENT_BYTES: usize = 254;
/// Longest local part accepted, in bytes (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_BYTES: usize = 64;
/// Longest list id accepted, in characters (SparkPost's limit).
pub const MAX_LIST_ID_CHARS: usize = 255;
/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// Which kind of messages a suppression stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuppressionType {
    /// Single-recipient operational messages (password resets, receipts).
    Transactional,
    /// Campaign messages.
    NonTransactional,
}

impl SuppressionType {
    /// Both types.
    pub const ALL: [SuppressionType; 2] = [Self::Transactional, Self::NonTransactional];

    /// SparkPost's name: `transactional` or `non_transactional`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transactional => "transactional",
            Self::NonTransactional => "non_transactional",
        }
    }
}

impl fmt::Display for SuppressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a suppression type or source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    /// What was being named: `type` or `source`.
    pub what: &'static str,
    /// The name given.
    pub name: String,
}

impl FromStr for SuppressionType {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "type",
                name: name.to_string(),
            })
    }
}

/// What put an entry on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuppressionSource {
    /// A feedback-loop report (`spam_complaint` event).
    SpamComplaint,
    /// The mailbox provider's unsubscribe feature (`list_unsubscribe` event).
    ListUnsubscribe,
    /// A hard bounce (`bounce` or `out_of_band` event).
    BounceRule,
    /// A tracked unsubscribe link (`link_unsubscribe` event).
    UnsubscribeLink,
    /// Added through the API.
    ManuallyAdded,
    /// Added by the operator's compliance process; the API can neither change nor remove it.
    Compliance,
}

impl SuppressionSource {
    /// Every source, in SparkPost's documented order.
    pub const ALL: [SuppressionSource; 6] = [
        Self::SpamComplaint,
        Self::ListUnsubscribe,
        Self::BounceRule,
        Self::UnsubscribeLink,
        Self::ManuallyAdded,
        Self::Compliance,
    ];

    /// SparkPost's display name, e.g. `Bounce Rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpamComplaint => "Spam Complaint",
            Self::ListUnsubscribe => "List Unsubscribe",
            Self::BounceRule => "Bounce Rule",
            Self::UnsubscribeLink => "Unsubscribe Link",
            Self::ManuallyAdded => "Manually Added",
            Self::Compliance => "Compliance",
        }
    }

    /// The key of the source in SparkPost's summary, e.g. `bounce_rule`.
    pub fn key(self) -> &'static str {
        match self {
            Self::SpamComplaint => "spam_complaint",
            Self::ListUnsubscribe => "list_unsubscribe",
            Self::BounceRule => "bounce_rule",
            Self::UnsubscribeLink => "unsubscribe_link",
            Self::ManuallyAdded => "manually_added",
            Self::Compliance => "compliance",
        }
    }

    /// Whether events add entries of this source (as opposed to people).
    pub fn is_automatic(self) -> bool {
        !matches!(self, Self::ManuallyAdded | Self::Compliance)
    }

    /// Whether a write of this source may replace a stored entry of source `stored`:
    /// `Compliance` replaces anything, `Manually Added` anything but `Compliance`, and an
    /// automatic source only another automatic one.
    pub fn may_replace(self, stored: SuppressionSource) -> bool {
        match self {
            Self::Compliance => true,
            Self::ManuallyAdded => stored != Self::Compliance,
            _ => stored.is_automatic(),
        }
    }
}

impl fmt::Display for SuppressionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SuppressionSource {
    type Err = UnknownName;

    /// Reads a display name (`Bounce Rule`) or a summary key (`bounce_rule`), ignoring case.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name) || s.key().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownName {
                what: "source",
                name: name.to_string(),
            })
    }
}

/// A stored suppression entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The address as last written.
    pub recipient: String,
    /// Which messages it stops.
    pub suppression_type: SuppressionType,
    /// What put it on the list.
    pub source: SuppressionSource,
    /// Why (for a bounce, the bounce reason).
    pub description: Option<String>,
    /// The mailing list (RFC 2919 list id) it applies to; `None` for the whole account.
    pub list_id: Option<String>,
    /// The subaccount whose list holds it; `None` for the primary account.
    pub subaccount: Option<u64>,
    /// When it was first stored, unix seconds.
    pub created: i64,
    /// When it was last changed, unix seconds.
    pub updated: i64,
}

/// One entry to create or update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionUpsert {
    /// The address; validated and normalised by the store.
    pub recipient: String,
    /// Which messages it stops.
    pub suppression_type: SuppressionType,
    /// What puts it on the list.
    pub source: SuppressionSource,
    /// Why.
    pub description: Option<String>,
    /// The mailing list it applies to; `None` for the whole account.
    pub list_id: Option<String>,
    /// The subaccount; `None` (or what the caller maps 0 to) for the primary account.
    pub subaccount: Option<u64>,
    /// When what this entry reports happened, unix seconds (the event's time for automatic
    /// sources). An automatic write is ignored unless this is later than the stored entry's.
    pub occurred_at: i64,
}

/// What an upsert did with one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new entry was stored.
    Created,
    /// The stored entry was replaced.
    Updated,
    /// The stored entry already reports this or something later; nothing changed.
    Unchanged,
    /// The stored entry's source takes precedence ([`SuppressionSource::may_replace`]).
    Kept,
}

/// What to do when an entry of an upsert meets a stored entry it may not replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenKept {
    /// Leave the stored entry and go on with the others.
    Skip,
    /// Write nothing at all.
    Abort,
}

/// The outcome of an upsert: one outcome per entry, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertReport {
    /// What happened (or, when not committed, would have happened) to each entry.
    pub outcomes: Vec<UpsertOutcome>,
    /// False when [`WhenKept::Abort`] stopped the upsert: nothing was written.
    pub committed: bool,
}

impl UpsertReport {
    /// Indices of the entries that met an entry they may not replace.
    pub fn kept(&self) -> Vec<usize> {
        self.outcomes
            .iter()
            .enumerate()
            .filter(|(_, outcome)| **outcome == UpsertOutcome::Kept)
            .map(|(index, _)| index)
            .collect()
    }
}

/// Which accounts' lists an operation covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListScope {
    /// The primary account's list and every subaccount's.
    #[default]
    All,
    /// The primary account's list.
    Primary,
    /// One subaccount's list.
    Subaccount(u64),
}

impl ListScope {
    /// The list of one account: `None` is the primary account.
    pub fn account(subaccount: Option<u64>) -> Self {
        match subaccount {
            None => Self::Primary,
            Some(n) => Self::Subaccount(n),
        }
    }
}

/// Which entries of a recipient an operation takes, by list id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListSelector {
    /// Account-level and list-specific entries alike.
    #[default]
    Any,
    /// Only the account-level entries (no list id).
    AccountLevel,
    /// Only the entries of this list id.
    List(String),
}

/// What a delete removes: one recipient's entries in one account's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionDeletion {
    /// The address.
    pub recipient: String,
    /// The subaccount; `None` for the primary account.
    pub subaccount: Option<u64>,
    /// Only entries of this type; `None` for both.
    pub suppression_type: Option<SuppressionType>,
    /// Which entries by list id.
    pub list: ListSelector,
}

/// What a delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// This many entries were removed.
    Deleted(u64),
    /// No entry matched.
    NotFound,
    /// A matching entry's source is `Compliance`; nothing was removed.
    Protected,
}

/// How a description filter matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DescriptionFilter {
    /// Every whitespace-separated word occurs in the description (ASCII case ignored).
    Words(String),
    /// The description is exactly this text.
    Exact(String),
}

/// Order of search results, by last change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest change first.
    Ascending,
    /// Newest change first.
    #[default]
    Descending,
}

/// A position in the search order, carried between pages as an opaque token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuppressionCursor {
    /// The `updated` time of the last entry shown.
    pub updated: i64,
    /// The store's stable position of that entry among entries of the same time.
    pub position: i64,
}

/// Prefix of cursor tokens, so that a later format can be told apart.
const CURSOR_VERSION: &str = "s1";

impl SuppressionCursor {
    /// The token handed to clients: URL-safe base64, no padding.
    pub fn to_token(self) -> String {
        let plain = format!("{CURSOR_VERSION}:{}:{}", self.updated, self.position);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a token made by [`to_token`](Self::to_token).
    pub fn from_token(token: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split(':');
        if parts.next()? != CURSOR_VERSION {
            return None;
        }
        let updated = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { updated, position })
    }
}

/// Which page of results to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// Skip `offset` results, return at most `limit`.
    Offset {
        /// Results skipped.
        offset: u64,
        /// Results returned at most.
        limit: usize,
    },
    /// Return at most `limit` results after `after` (from the start when `None`).
    Cursor {
        /// Where the previous page ended.
        after: Option<SuppressionCursor>,
        /// Results returned at most.
        limit: usize,
    },
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::Offset {
            offset: 0,
            limit: 1000,
        }
    }
}

/// A search of the suppression lists; every filter that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuppressionQuery {
    /// Whose lists.
    pub lists: ListScope,
    /// Only this recipient (normalised like stored keys).
    pub recipient: Option<String>,
    /// Changed at or after this time, unix seconds.
    pub updated_from: Option<i64>,
    /// Changed at or before this time, unix seconds.
    pub updated_to: Option<i64>,
    /// Recipients at this domain (case ignored).
    pub domain: Option<String>,
    /// Any of these sources; empty for all.
    pub sources: Vec<SuppressionSource>,
    /// Any of these types; empty for both.
    pub types: Vec<SuppressionType>,
    /// A description filter.
    pub description: Option<DescriptionFilter>,
    /// Which entries by list id.
    pub list: ListSelector,
    /// Result order, by last change (ties in a stable order).
    pub order: SortOrder,
    /// Which page.
    pub page: PageRequest,
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionPage {
    /// The entries of this page.
    pub entries: Vec<Suppression>,
    /// How many entries match the query in all pages.
    pub total_count: u64,
    /// Where the next page starts, when more entries follow.
    pub next: Option<SuppressionCursor>,
}

/// Entries per source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuppressionSummary {
    /// Count per source; sources without entries may be absent.
    pub counts: BTreeMap<SuppressionSource, u64>,
}

impl SuppressionSummary {
    /// Entries of one source.
    pub fn count(&self, source: SuppressionSource) -> u64 {
        self.counts.get(&source).copied().unwrap_or(0)
    }

    /// All entries.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Storage of suppression lists. Every method is synchronous; async callers run them on the
/// blocking pool.
pub trait SuppressionStore: Send + Sync {
    /// Creates or updates `entries` in one transaction, in order, under the precedence rules
    /// of [`SuppressionSource::may_replace`] and [`SuppressionUpsert::occurred_at`]. An invalid
    /// entry fails the whole call with [`StateError::Invalid`] naming its index.
    fn upsert_suppressions(
        &self,
        entries: Vec<SuppressionUpsert>,
        when_kept: WhenKept,
    ) -> Result<UpsertReport, StateError>;

    /// Writes the entries a subscriber derived from events, as
    /// [`upsert_suppressions`](Self::upsert_suppressions) with [`WhenKept::Skip`], and
    /// remembers the events' identities in the same transaction.
    fn upsert_from_events(
        &self,
        entries: Vec<SuppressionUpsert>,
        applied: crate::AppliedBatch<'_>,
    ) -> Result<UpsertReport, StateError>;
    /// Every entry of `recipient` in the lists of `scope` (none for an invalid address).
    fn find_suppressions(
        &self,
        recipient: &str,
        scope: ListScope,
    ) -> Result<Vec<Suppression>, StateError>;
    /// Removes a recipient's matching entries, unless one of them is `Compliance`.
    fn delete_suppressions(
        &self,
        deletion: &SuppressionDeletion,
    ) -> Result<DeleteOutcome, StateError>;
    /// The entries matching `query`, one page, with the total count.
    fn search_suppressions(&self, query: &SuppressionQuery) -> Result<SuppressionPage, StateError>;
    /// Entries per source in the lists of `scope`.
    fn suppression_summary(&self, scope: ListScope) -> Result<SuppressionSummary, StateError>;
    /// The subaccounts whose lists hold at least one entry, in ascending order.
    fn suppression_subaccounts(&self) -> Result<Vec<u64>, StateError>;
}

/// Why a value cannot be part of a suppression entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSuppression {
    /// The recipient is not an acceptable email address.
    #[error("recipient must be an email address ({0})")]
    Recipient(&'static str),
    /// The list id breaks SparkPost's rules.
    #[error("list_id must be 1 to {MAX_LIST_ID_CHARS} letters, digits, hyphens, underscores and dots, without leading, trailing or consecutive dots")]
    ListId,
    /// The description is too long.
    #[error("description must be at most {MAX_DESCRIPTION_CHARS} characters")]
    Description,
}

impl InvalidSuppression {
    /// The field at fault: `recipient`, `list_id` or `description`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Recipient(_) => "recipient",
            Self::ListId => "list_id",
            Self::Description => "description",
        }
    }
}

/// Characters a dot-atom local part may hold besides letters, digits and dots (RFC 5322 atext).
const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

/// Checks `recipient` and returns its key: the whole address lower-cased, so that entries are
/// matched, de-duplicated and deleted without regard to case, as mailbox providers treat
/// addresses in practice and as SparkPost reports `rcpt_to` (lower case). The entry keeps the
/// address as written for display. Quoted local parts and address literals are not accepted.
pub fn recipient_key(recipient: &str) -> Result<String, InvalidSuppression> {
    split_recipient(recipient)?;
    Ok(recipient.to_lowercase())
}

/// The lower-cased domain of a valid recipient.
pub fn recipient_domain(recipient: &str) -> Result<String, InvalidSuppression> {
    split_recipient(recipient).map(|(_, domain)| domain.to_lowercase())
}

fn split_recipient(recipient: &str) -> Result<(&str, &str), InvalidSuppression> {
    let bad = InvalidSuppression::Recipient;
    if recipient.is_empty() {
        return Err(bad("empty"));
    }
    if recipient.len() > MAX_RECIPIENT_BYTES {
        return Err(bad("longer than 254 bytes"));
    }
    let (local, domain) = recipient.split_once('@').ok_or(bad("no @"))?;
    if local.is_empty() || local.len() > MAX_LOCAL_PART_BYTES {
        return Err(bad("the local part must be 1 to 64 bytes"));
    }
    let atext = |c: char| c.is_alphanumeric() || LOCAL_SPECIALS.contains(c);
    if !local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(atext))
    {
        return Err(bad(
            "the local part has a character or dot that is not allowed",
        ));
    }
    if !valid_domain(domain) {
        return Err(bad("the domain is not a valid host name"));
    }
    Ok((local, domain))
}

/// A host name of at least two labels of letters, digits and inner hyphens, each 1 to 63
/// characters.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Checks a list id: 1 to 255 letters, digits, hyphens, underscores and dots, without a
/// leading, trailing or doubled dot.
pub fn validate_list_id(list_id: &str) -> Result<(), InvalidSuppression> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let ok = !list_id.is_empty()
        && list_id.len() <= MAX_LIST_ID_CHARS
        && list_id.chars().all(allowed)
        && !list_id.starts_with('.')
        && !list_id.ends_with('.')
        && !list_id.contains("..");
    ok.then_some(()).ok_or(InvalidSuppression::ListId)
}

/// Checks a description's length.
pub fn validate_description(description: &str) -> Result<(), InvalidSuppression> {
    (description.chars().count() <= MAX_DESCRIPTION_CHARS)
        .then_some(())
        .ok_or(InvalidSuppression::Description)
}

/// `text` cut to at most [`MAX_DESCRIPTION_CHARS`] characters.
pub fn truncate_description(text: &str) -> &str {
    match text.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Checks every field of an upsert.
pub fn validate_upsert(entry: &SuppressionUpsert) -> Result<(), InvalidSuppression> {
    recipient_key(&entry.recipient)?;
    if let Some(list_id) = &entry.list_id {
        validate_list_id(list_id)?;
    }
    if let Some(description) = &entry.description {
        validate_description(description)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_letter_case() {
        assert_eq!(
            recipient_key("Local@Example.COM").unwrap(),
            "local@example.com"
        );
        assert_eq!(
            recipient_key("A.b+C@sub.EXAMPLE.org").unwrap(),
            "a.b+c@sub.example.org"
        );
        assert_eq!(
            recipient_domain("x@Mail.Example.COM").unwrap(),
            "mail.example.com"
        );
        assert_eq!(recipient_key("Jörg@Bücher.DE").unwrap(), "jörg@bücher.de");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        for bad in [
            "",
            "plain",
            "@example.com",
            "user@",
            "user@localhost",
            "user@exa mple.com",
            "us er@example.com",
            "user@@example.com",
            "a@b@example.com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "user@-example.com",
            "user@example-.com",
            "user@example..com",
            "\"quoted\"@example.com",
            "user@[127.0.0.1]",
            "user\n@example.com",
            long_local.as_str(),
            long.as_str(),
        ] {
            let err = recipient_key(bad).unwrap_err();
            assert_eq!(err.field(), "recipient", "{bad:?}");
        }
        let at_limit = format!("{}@example.com", "a".repeat(64));
        assert!(recipient_key(&at_limit).is_ok());
    }

    #[test]
    fn list_ids_follow_sparkpost_rules() {
        for good in ["a", "news.example.com", "list_1-b", &"x".repeat(255)] {
            assert_eq!(validate_list_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "a b",
            "list/1",
            "ü",
            &"x".repeat(256),
        ] {
            assert_eq!(
                validate_list_id(bad),
                Err(InvalidSuppression::ListId),
                "{bad}"
            );
        }
    }

    #[test]
    fn descriptions_are_bounded_in_characters() {
        let at_limit = "é".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(validate_description(&at_limit), Ok(()));
        let over = format!("{at_limit}x");
        assert_eq!(
            validate_description(&over),
            Err(InvalidSuppression::Description)
        );
        assert_eq!(truncate_description(&over), at_limit);
        assert_eq!(truncate_description("short"), "short");
    }

    #[test]
    fn names_round_trip() {
        for t in SuppressionType::ALL {
            assert_eq!(t.as_str().parse::<SuppressionType>(), Ok(t));
        }
        assert!("Transactional".parse::<SuppressionType>().is_err());
        for s in SuppressionSource::ALL {
            assert_eq!(s.as_str().parse::<SuppressionSource>(), Ok(s));
            assert_eq!(s.key().parse::<SuppressionSource>(), Ok(s));
        }
        assert_eq!(
            "bounce rule".parse::<SuppressionSource>(),
            Ok(SuppressionSource::BounceRule)
        );
        let err = "Teleport".parse::<SuppressionSource>().unwrap_err();
        assert_eq!(err.to_string(), "unknown source `Teleport`");
    }

    #[test]
    fn precedence_protects_people_and_compliance() {
        use SuppressionSource::*;
        for automatic in [SpamComplaint, ListUnsubscribe, BounceRule, UnsubscribeLink] {
            assert!(automatic.is_automatic());
            assert!(!automatic.may_replace(ManuallyAdded));
            assert!(!automatic.may_replace(Compliance));
            assert!(automatic.may_replace(BounceRule));
            assert!(ManuallyAdded.may_replace(automatic));
        }
        assert!(ManuallyAdded.may_replace(ManuallyAdded));
        assert!(!ManuallyAdded.may_replace(Compliance));
        assert!(Compliance.may_replace(Compliance));
        assert!(Compliance.may_replace(ManuallyAdded));
    }

    #[test]
    fn cursor_tokens_round_trip_and_reject_garbage() {
        let cursor = SuppressionCursor {
            updated: 1_700_000_000,
            position: 42,
        };
        let token = cursor.to_token();
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(SuppressionCursor::from_token(&token), Some(cursor));
        for bad in ["", "initial", "!!!", "czE6MQ", "eDoxOjI"] {
            assert_eq!(SuppressionCursor::from_token(bad), None, "{bad}");
        }
    }
}
