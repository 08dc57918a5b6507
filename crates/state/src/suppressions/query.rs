//! What the two backends of [`SuppressionStore`](super::SuppressionStore) share: the SQL of
//! every read and deletion (written with `?` placeholders, numbered for PostgreSQL), the values
//! it binds, reading rows into entries, the decision an upsert takes for each entry, and the
//! assembly of a search page. The backends run the statements, and bind [`Arg`]s their way.
//!
//! Rows are keyed as stored: the primary account is subaccount 0 and an account-level entry
//! has list id `''`; `id` is a stable position among entries changed in the same second.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::{
    recipient_domain, recipient_key, validate_upsert, DeleteOutcome, DescriptionFilter, ListScope,
    ListSelector, PageRequest, SortOrder, Suppression, SuppressionCursor, SuppressionDeletion,
    SuppressionPage, SuppressionQuery, SuppressionSource, SuppressionSummary, SuppressionType,
    SuppressionUpsert, UnknownName, UpsertOutcome, UpsertReport, WhenKept,
};
use crate::StateError;

/// The columns [`read_entry`] reads.
pub(crate) const COLUMNS: &str =
    "id, subaccount, recipient, type, list_id, source, description, created, updated";

/// The columns [`read_existing`] reads.
pub(crate) const EXISTING_COLUMNS: &str =
    "id, recipient_key, subaccount, type, list_id, source, occurred_at";

/// The subaccounts whose lists hold an entry, ascending (read with [`subaccount_id`]).
pub(crate) const SUBACCOUNTS: &str =
    "SELECT DISTINCT subaccount FROM suppressions WHERE subaccount > 0 ORDER BY subaccount";

/// The SQL dialect a statement is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sql`, written with `?` placeholders, in this dialect: as is for SQLite, numbered
    /// `$1, $2, …` for PostgreSQL (a `?` inside a quoted literal stays).
    fn render(self, sql: &str) -> String {
        if self == Self::Sqlite {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut number = 0;
        let mut quoted = false;
        for c in sql.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    out.push(c);
                }
                '?' if !quoted => {
                    number += 1;
                    out.push('$');
                    out.push_str(&number.to_string());
                }
                _ => out.push(c),
            }
        }
        out
    }
}

/// A value bound to a statement; each backend binds it as its own type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    /// An array of text: only [`Dialect::Postgres`] statements take one.
    Texts(Vec<String>),
}

/// A statement rendered for a dialect, with its arguments in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
}

/// A WHERE clause under construction.
#[derive(Clone, Debug, Default)]
struct Filter {
    conditions: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    fn add(&mut self, condition: impl Into<String>, args: impl IntoIterator<Item = Arg>) {
        self.conditions.push(condition.into());
        self.args.extend(args);
    }

    /// `column IN (…)` over the distinct `values`; nothing when there are none.
    fn add_in(&mut self, column: &str, values: impl IntoIterator<Item = &'static str>) {
        let mut values: Vec<&str> = values.into_iter().collect();
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        let args = values.into_iter().map(|v| Arg::Text(v.to_owned()));
        self.add(format!("{column} IN ({marks})"), args);
    }

    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// `{what} FROM suppressions WHERE … {tail}` in `dialect`, with `tail_args` after the
    /// filter's.
    fn statement(
        &self,
        dialect: Dialect,
        what: &str,
        tail: &str,
        tail_args: impl IntoIterator<Item = Arg>,
    ) -> Statement {
        let mut args = self.args.clone();
        args.extend(tail_args);
        Statement {
            sql: dialect.render(&format!("{what} FROM suppressions{}{tail}", self.clause())),
            args,
        }
    }
}

/// The `subaccount` column value of an account.
fn account_column(subaccount: Option<u64>) -> Result<i64, StateError> {
    match subaccount {
        None | Some(0) => Ok(0),
        Some(n) => i64::try_from(n)
            .map_err(|_| StateError::Invalid(format!("subaccount {n} is out of range"))),
    }
}

/// A stored `subaccount` of [`SUBACCOUNTS`] as a subaccount id.
pub(crate) fn subaccount_id(column: i64) -> Result<u64, StateError> {
    u64::try_from(column).map_err(|e| StateError::Corrupt(format!("suppression subaccount: {e}")))
}

/// Restricts rows to the lists of `scope`.
fn add_scope(filter: &mut Filter, scope: ListScope) -> Result<(), StateError> {
    let account = match scope {
        ListScope::All => return Ok(()),
        ListScope::Primary => None,
        ListScope::Subaccount(n) => Some(n),
    };
    filter.add("subaccount = ?", [Arg::Int(account_column(account)?)]);
    Ok(())
}

/// Restricts rows by list id.
fn add_list(filter: &mut Filter, list: &ListSelector) {
    let list_id = match list {
        ListSelector::Any => return,
        ListSelector::AccountLevel => String::new(),
        ListSelector::List(id) => id.clone(),
    };
    filter.add("list_id = ?", [Arg::Text(list_id)]);
}

/// `text` as a LIKE pattern matching it anywhere, with `\` escaping LIKE's wildcards.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Every word of `words` in the description, ASCII case ignored (SQLite's LIKE; PostgreSQL's
/// ILIKE under the "C" collation, which folds ASCII letters only). On PostgreSQL the words
/// are one array, so that the statement (prepared once per connection) does not change with
/// their number.
fn add_words(filter: &mut Filter, dialect: Dialect, words: &str) {
    let mut patterns: Vec<String> = words.split_whitespace().map(contains_pattern).collect();
    patterns.sort_unstable();
    patterns.dedup();
    match dialect {
        Dialect::Sqlite => {
            for pattern in patterns {
                filter.add("description LIKE ? ESCAPE '\\'", [Arg::Text(pattern)]);
            }
        }
        // `\` is PostgreSQL's default escape (`ESCAPE` does not follow `ALL`).
        Dialect::Postgres if !patterns.is_empty() => filter.add(
            "description COLLATE \"C\" ILIKE ALL (?)",
            [Arg::Texts(patterns)],
        ),
        Dialect::Postgres => {}
    }
}

/// The filter of a query, without paging; `None` when nothing can match.
fn query_filter(query: &SuppressionQuery, dialect: Dialect) -> Result<Option<Filter>, StateError> {
    let mut filter = Filter::default();
    add_scope(&mut filter, query.lists)?;
    if let Some(recipient) = &query.recipient {
        let Ok(key) = recipient_key(recipient) else {
            return Ok(None);
        };
        filter.add("recipient_key = ?", [Arg::Text(key)]);
    }
    if let Some(from) = query.updated_from {
        filter.add("updated >= ?", [Arg::Int(from)]);
    }
    if let Some(to) = query.updated_to {
        filter.add("updated <= ?", [Arg::Int(to)]);
    }
    if let Some(domain) = &query.domain {
        filter.add("domain = ?", [Arg::Text(domain.to_lowercase())]);
    }
    filter.add_in("source", query.sources.iter().map(|s| s.as_str()));
    filter.add_in("type", query.types.iter().map(|t| t.as_str()));
    match &query.description {
        None => {}
        Some(DescriptionFilter::Exact(text)) => {
            filter.add("description = ?", [Arg::Text(text.clone())]);
        }
        Some(DescriptionFilter::Words(words)) => add_words(&mut filter, dialect, words),
    }
    add_list(&mut filter, &query.list);
    Ok(Some(filter))
}

/// The statements of a search.
#[derive(Clone, Debug)]
pub(crate) struct Search {
    /// Counts every match (one row, one integer).
    pub(crate) count: Statement,
    /// Selects the page's [`COLUMNS`], one row more than the page holds when more follow.
    pub(crate) page: Statement,
    /// Entries per page.
    pub(crate) limit: usize,
}

/// The statements of `query`; `None` when nothing can match (see [`empty_page`]).
pub(crate) fn search(
    query: &SuppressionQuery,
    dialect: Dialect,
) -> Result<Option<Search>, StateError> {
    let Some(mut filter) = query_filter(query, dialect)? else {
        return Ok(None);
    };
    let count = filter.statement(dialect, "SELECT COUNT(*)", "", []);
    let (direction, after) = match query.order {
        SortOrder::Ascending => ("ASC", ">"),
        SortOrder::Descending => ("DESC", "<"),
    };
    let (offset, limit) = match query.page {
        PageRequest::Offset { offset, limit } => (offset, limit),
        PageRequest::Cursor {
            after: cursor,
            limit,
        } => {
            if let Some(cursor) = cursor {
                filter.add(
                    format!("(updated, id) {after} (?, ?)"),
                    [Arg::Int(cursor.updated), Arg::Int(cursor.position)],
                );
            }
            (0, limit)
        }
    };
    // One more than asked for tells whether another page follows.
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
    let page = filter.statement(
        dialect,
        &format!("SELECT {COLUMNS}"),
        &format!(" ORDER BY updated {direction}, id {direction} LIMIT ? OFFSET ?"),
        [
            Arg::Int(fetch),
            Arg::Int(i64::try_from(offset).unwrap_or(i64::MAX)),
        ],
    );
    Ok(Some(Search { count, page, limit }))
}

/// The page of a search that cannot match.
pub(crate) fn empty_page() -> SuppressionPage {
    SuppressionPage {
        entries: Vec::new(),
        total_count: 0,
        next: None,
    }
}

/// The page made of the rows [`Search::page`] returned, and the count [`Search::count`] did.
pub(crate) fn page(mut stored: Vec<Stored>, limit: usize, total_count: i64) -> SuppressionPage {
    let more = stored.len() > limit;
    stored.truncate(limit);
    let next = more
        .then(|| stored.last())
        .flatten()
        .map(|last| SuppressionCursor {
            updated: last.entry.updated,
            position: last.id,
        });
    SuppressionPage {
        entries: stored.into_iter().map(|s| s.entry).collect(),
        total_count: u64::try_from(total_count).unwrap_or(0),
        next,
    }
}

/// Every entry of `recipient` in the lists of `scope` ([`COLUMNS`]); `None` for an invalid
/// address.
pub(crate) fn find(
    recipient: &str,
    scope: ListScope,
    dialect: Dialect,
) -> Result<Option<Statement>, StateError> {
    let Ok(key) = recipient_key(recipient) else {
        return Ok(None);
    };
    let mut filter = Filter::default();
    filter.add("recipient_key = ?", [Arg::Text(key)]);
    add_scope(&mut filter, scope)?;
    let select = format!("SELECT {COLUMNS}");
    Ok(Some(filter.statement(
        dialect,
        &select,
        " ORDER BY subaccount, type, list_id",
        [],
    )))
}

/// The statements of a deletion: the sources of the matching entries, then their removal.
#[derive(Clone, Debug)]
pub(crate) struct Deletion {
    /// Selects the `source` of every matching entry.
    pub(crate) sources: Statement,
    /// Removes them.
    pub(crate) delete: Statement,
}

/// The statements of `deletion`; `None` when it cannot match (an invalid address).
pub(crate) fn deletion(
    deletion: &SuppressionDeletion,
    dialect: Dialect,
) -> Result<Option<Deletion>, StateError> {
    let Ok(key) = recipient_key(&deletion.recipient) else {
        return Ok(None);
    };
    let mut filter = Filter::default();
    filter.add("recipient_key = ?", [Arg::Text(key)]);
    filter.add(
        "subaccount = ?",
        [Arg::Int(account_column(deletion.subaccount)?)],
    );
    if let Some(suppression_type) = deletion.suppression_type {
        filter.add("type = ?", [Arg::Text(suppression_type.as_str().into())]);
    }
    add_list(&mut filter, &deletion.list);
    Ok(Some(Deletion {
        sources: filter.statement(dialect, "SELECT source", "", []),
        delete: filter.statement(dialect, "DELETE", "", []),
    }))
}

/// Why the entries of these sources may not be deleted (none match, or one is
/// `Compliance`); `None` when they may.
pub(crate) fn refuse_deletion(sources: &[String]) -> Option<DeleteOutcome> {
    if sources.is_empty() {
        Some(DeleteOutcome::NotFound)
    } else if sources
        .iter()
        .any(|s| s == SuppressionSource::Compliance.as_str())
    {
        Some(DeleteOutcome::Protected)
    } else {
        None
    }
}

/// Counts the entries of each source in the lists of `scope`: rows of `source` and count.
pub(crate) fn source_counts(scope: ListScope, dialect: Dialect) -> Result<Statement, StateError> {
    let mut filter = Filter::default();
    add_scope(&mut filter, scope)?;
    Ok(filter.statement(dialect, "SELECT source, COUNT(*)", " GROUP BY source", []))
}

/// Counts the entries of `source` in the lists of `scope` (one index range, for any scope).
pub(crate) fn source_count(
    source: SuppressionSource,
    scope: ListScope,
    dialect: Dialect,
) -> Result<Statement, StateError> {
    let mut filter = Filter::default();
    filter.add("source = ?", [Arg::Text(source.as_str().into())]);
    add_scope(&mut filter, scope)?;
    Ok(filter.statement(dialect, "SELECT COUNT(*)", "", []))
}

/// Adds `count` entries of `source` to `summary` (nothing when 0).
pub(crate) fn add_count(
    summary: &mut SuppressionSummary,
    source: SuppressionSource,
    count: i64,
) -> Result<(), StateError> {
    let count = u64::try_from(count).map_err(|e| StateError::Corrupt(e.to_string()))?;
    if count > 0 {
        *summary.counts.entry(source).or_default() += count;
    }
    Ok(())
}

/// A result row of either backend, read by column name.
pub(crate) trait Columns {
    fn int(&self, column: &str) -> Result<i64, StateError>;
    fn text(&self, column: &str) -> Result<String, StateError>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, StateError>;
}

fn corrupt(e: UnknownName) -> StateError {
    StateError::Corrupt(e.to_string())
}

/// A stored source name as a source.
pub(crate) fn parse_source(name: &str) -> Result<SuppressionSource, StateError> {
    name.parse().map_err(corrupt)
}

/// One entry read back, with its `id` (for cursors).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) id: i64,
    pub(crate) entry: Suppression,
}

/// Reads the [`COLUMNS`] of a row.
pub(crate) fn read_entry(row: &impl Columns) -> Result<Stored, StateError> {
    let list_id = row.text("list_id")?;
    Ok(Stored {
        id: row.int("id")?,
        entry: Suppression {
            recipient: row.text("recipient")?,
            suppression_type: row.text("type")?.parse().map_err(corrupt)?,
            source: parse_source(&row.text("source")?)?,
            description: row.optional_text("description")?,
            list_id: (!list_id.is_empty()).then_some(list_id),
            subaccount: u64::try_from(row.int("subaccount")?)
                .ok()
                .filter(|n| *n != 0),
            created: row.int("created")?,
            updated: row.int("updated")?,
        },
    })
}

/// What identifies a stored entry: its unique key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EntryKey {
    pub(crate) recipient_key: String,
    pub(crate) subaccount: i64,
    pub(crate) suppression_type: SuppressionType,
    pub(crate) list_id: String,
}

/// The stored entry an upsert meets: what the decision needs, and its `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Existing {
    pub(crate) id: i64,
    pub(crate) source: SuppressionSource,
    pub(crate) occurred_at: i64,
}

/// Reads the [`EXISTING_COLUMNS`] of a row.
pub(crate) fn read_existing(row: &impl Columns) -> Result<(EntryKey, Existing), StateError> {
    let key = EntryKey {
        recipient_key: row.text("recipient_key")?,
        subaccount: row.int("subaccount")?,
        suppression_type: row.text("type")?.parse().map_err(corrupt)?,
        list_id: row.text("list_id")?,
    };
    let existing = Existing {
        id: row.int("id")?,
        source: parse_source(&row.text("source")?)?,
        occurred_at: row.int("occurred_at")?,
    };
    Ok((key, existing))
}

/// An upsert entry, checked, as its row is written (but for the store's times).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) key: EntryKey,
    pub(crate) recipient: String,
    pub(crate) domain: String,
    pub(crate) source: SuppressionSource,
    pub(crate) description: Option<String>,
    pub(crate) occurred_at: i64,
}

/// Checks every entry of an upsert (an invalid one fails it all, naming its index) and gives
/// each its row.
pub(crate) fn rows(entries: Vec<SuppressionUpsert>) -> Result<Vec<Row>, StateError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let invalid =
                |e: super::InvalidSuppression| StateError::Invalid(format!("entry {index}: {e}"));
            validate_upsert(&entry).map_err(invalid)?;
            let key = EntryKey {
                recipient_key: recipient_key(&entry.recipient).map_err(invalid)?,
                subaccount: account_column(entry.subaccount)
                    .map_err(|e| StateError::Invalid(format!("entry {index}: {e}")))?,
                suppression_type: entry.suppression_type,
                list_id: entry.list_id.unwrap_or_default(),
            };
            Ok(Row {
                key,
                domain: recipient_domain(&entry.recipient).map_err(invalid)?,
                recipient: entry.recipient,
                source: entry.source,
                description: entry.description,
                occurred_at: entry.occurred_at,
            })
        })
        .collect()
}

/// What an upsert does with an entry of `source` reporting what happened at `occurred_at`,
/// given the entry stored under its key (source and time): the precedence rules of
/// [`SuppressionSource::may_replace`], and automatic entries only moving forward in time.
pub(crate) fn decide(
    source: SuppressionSource,
    occurred_at: i64,
    stored: Option<(SuppressionSource, i64)>,
) -> UpsertOutcome {
    match stored {
        None => UpsertOutcome::Created,
        Some((stored, _)) if !source.may_replace(stored) => UpsertOutcome::Kept,
        Some((_, stored_at)) if source.is_automatic() && occurred_at <= stored_at => {
            UpsertOutcome::Unchanged
        }
        Some(_) => UpsertOutcome::Updated,
    }
}

/// The writes an upsert makes: at most one per key, whatever the batch holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    /// Each entry's outcome, in order.
    pub(crate) outcomes: Vec<UpsertOutcome>,
    /// New rows, in the order of their first entry.
    pub(crate) creates: Vec<Row>,
    /// Stored rows replaced: `id` and new values.
    pub(crate) updates: Vec<(i64, Row)>,
}

/// The write pending for a key: an index in [`Plan::creates`] or [`Plan::updates`].
#[derive(Clone, Copy)]
enum Pending {
    Create(usize),
    Update(usize),
}

/// What the batch so far left under a key.
struct Slot {
    stored: Option<Existing>,
    pending: Option<Pending>,
}

impl Plan {
    /// Decides every row in order, as if each were written before the next is decided:
    /// `stored` gives the entry stored under a key (asked once per key), and a later row of
    /// the same key meets what the earlier one left.
    pub(crate) fn new(
        rows: Vec<Row>,
        mut stored: impl FnMut(&EntryKey) -> Result<Option<Existing>, StateError>,
    ) -> Result<Self, StateError> {
        let mut plan = Plan {
            outcomes: Vec::with_capacity(rows.len()),
            ..Plan::default()
        };
        let mut slots: HashMap<EntryKey, Slot> = HashMap::with_capacity(rows.len());
        for row in rows {
            let slot = match slots.entry(row.key.clone()) {
                Entry::Occupied(slot) => slot.into_mut(),
                Entry::Vacant(slot) => slot.insert(Slot {
                    stored: stored(&row.key)?,
                    pending: None,
                }),
            };
            let current = match slot.pending {
                Some(Pending::Create(at)) => plan.creates.get(at),
                Some(Pending::Update(at)) => plan.updates.get(at).map(|(_, row)| row),
                None => None,
            }
            .map(|row| (row.source, row.occurred_at))
            .or(slot.stored.map(|e| (e.source, e.occurred_at)));
            let outcome = decide(row.source, row.occurred_at, current);
            plan.outcomes.push(outcome);
            match (outcome, slot.pending, slot.stored) {
                (UpsertOutcome::Created, _, _) => {
                    slot.pending = Some(Pending::Create(plan.creates.len()));
                    plan.creates.push(row);
                }
                (UpsertOutcome::Updated, Some(Pending::Create(at)), _) => plan.creates[at] = row,
                (UpsertOutcome::Updated, Some(Pending::Update(at)), _) => {
                    plan.updates[at].1 = row;
                }
                (UpsertOutcome::Updated, None, Some(existing)) => {
                    slot.pending = Some(Pending::Update(plan.updates.len()));
                    plan.updates.push((existing.id, row));
                }
                _ => {}
            }
        }
        Ok(plan)
    }

    /// Whether the plan is written: not when an entry was kept and `when_kept` aborts.
    pub(crate) fn writes(&self, when_kept: WhenKept) -> bool {
        when_kept != WhenKept::Abort || !self.outcomes.contains(&UpsertOutcome::Kept)
    }

    /// The report of the upsert, `committed` or not.
    pub(crate) fn report(self, committed: bool) -> UpsertReport {
        UpsertReport {
            outcomes: self.outcomes,
            committed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SuppressionSource::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_outside_literals() {
        let sql = "a = ? AND b LIKE ? ESCAPE '\\' AND c = '?' AND d IN (?, ?)";
        assert_eq!(Dialect::Sqlite.render(sql), sql);
        assert_eq!(
            Dialect::Postgres.render(sql),
            "a = $1 AND b LIKE $2 ESCAPE '\\' AND c = '?' AND d IN ($3, $4)"
        );
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }

    #[test]
    fn decisions_follow_precedence_and_time() {
        assert_eq!(decide(BounceRule, 5, None), UpsertOutcome::Created);
        assert_eq!(
            decide(BounceRule, 5, Some((ManuallyAdded, 1))),
            UpsertOutcome::Kept
        );
        assert_eq!(
            decide(SpamComplaint, 5, Some((BounceRule, 5))),
            UpsertOutcome::Unchanged
        );
        assert_eq!(
            decide(SpamComplaint, 6, Some((BounceRule, 5))),
            UpsertOutcome::Updated
        );
        assert_eq!(
            decide(ManuallyAdded, 0, Some((BounceRule, 5))),
            UpsertOutcome::Updated
        );
    }

    fn row(recipient: &str, source: SuppressionSource, occurred_at: i64) -> Row {
        let entry = SuppressionUpsert {
            recipient: recipient.into(),
            suppression_type: SuppressionType::Transactional,
            source,
            description: None,
            list_id: None,
            subaccount: None,
            occurred_at,
        };
        rows(vec![entry]).unwrap().remove(0)
    }

    #[test]
    fn a_plan_writes_each_key_once_and_later_entries_see_earlier_ones() {
        let stored = Existing {
            id: 7,
            source: BounceRule,
            occurred_at: 10,
        };
        let plan = Plan::new(
            vec![
                row("new@example.com", BounceRule, 1),
                row("NEW@example.com", SpamComplaint, 2),
                row("new@example.com", SpamComplaint, 2),
                row("old@example.com", SpamComplaint, 11),
                row("Old@example.com", ManuallyAdded, 0),
                row("old@example.com", BounceRule, 99),
            ],
            |key| Ok((key.recipient_key == "old@example.com").then_some(stored)),
        )
        .unwrap();
        use UpsertOutcome::*;
        assert_eq!(
            plan.outcomes,
            [Created, Updated, Unchanged, Updated, Updated, Kept]
        );
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].recipient, "NEW@example.com");
        assert_eq!(plan.updates.len(), 1);
        assert_eq!(plan.updates[0].0, 7);
        assert_eq!(plan.updates[0].1.source, ManuallyAdded);
        assert!(plan.writes(WhenKept::Skip));
        assert!(!plan.writes(WhenKept::Abort));
    }
}
