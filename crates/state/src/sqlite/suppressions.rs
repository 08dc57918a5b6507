//! [`SuppressionStore`] on SQLite: one row per entry, keyed by (recipient key, subaccount,
//! type, list id); the primary account is subaccount 0 and an account-level entry has list id
//! ''. The rowid orders entries changed in the same second, which makes cursors stable.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::SqliteState;
use crate::suppressions::{
    recipient_domain, recipient_key, validate_upsert, DeleteOutcome, DescriptionFilter, ListScope,
    ListSelector, PageRequest, SortOrder, Suppression, SuppressionCursor, SuppressionDeletion,
    SuppressionPage, SuppressionQuery, SuppressionSource, SuppressionStore, SuppressionSummary,
    SuppressionType, SuppressionUpsert, UnknownName, UpsertOutcome, UpsertReport, WhenKept,
};
use crate::unix_now;
use crate::AppliedBatch;
use crate::StateError;

const COLUMNS: &str =
    "id, subaccount, recipient, type, list_id, source, description, created, updated";

/// One entry read back, with its rowid (for cursors).
struct Stored {
    id: i64,
    entry: Suppression,
}

fn corrupt(e: UnknownName) -> StateError {
    StateError::Corrupt(e.to_string())
}

fn read_entry(row: &Row<'_>) -> Result<Stored, StateError> {
    let subaccount: i64 = row.get("subaccount")?;
    let list_id: String = row.get("list_id")?;
    Ok(Stored {
        id: row.get("id")?,
        entry: Suppression {
            recipient: row.get("recipient")?,
            suppression_type: row.get::<_, String>("type")?.parse().map_err(corrupt)?,
            source: row.get::<_, String>("source")?.parse().map_err(corrupt)?,
            description: row.get("description")?,
            list_id: (!list_id.is_empty()).then_some(list_id),
            subaccount: u64::try_from(subaccount).ok().filter(|n| *n != 0),
            created: row.get("created")?,
            updated: row.get("updated")?,
        },
    })
}

/// The `subaccount` column value of an account.
fn account_column(subaccount: Option<u64>) -> Result<i64, StateError> {
    match subaccount {
        None | Some(0) => Ok(0),
        Some(n) => i64::try_from(n)
            .map_err(|_| StateError::Invalid(format!("subaccount {n} is out of range"))),
    }
}

/// The condition (and its argument) restricting rows to the lists of `scope`.
fn scope_condition(scope: ListScope) -> Result<Option<(&'static str, Value)>, StateError> {
    Ok(match scope {
        ListScope::All => None,
        ListScope::Primary => Some(("subaccount = ?", Value::Integer(0))),
        ListScope::Subaccount(n) => {
            Some(("subaccount = ?", Value::Integer(account_column(Some(n))?)))
        }
    })
}

/// The condition restricting rows by list id.
fn list_condition(list: &ListSelector) -> Option<(&'static str, Value)> {
    match list {
        ListSelector::Any => None,
        ListSelector::AccountLevel => Some(("list_id = ?", Value::Text(String::new()))),
        ListSelector::List(id) => Some(("list_id = ?", Value::Text(id.clone()))),
    }
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

/// A WHERE clause under construction.
#[derive(Default)]
struct Filter {
    conditions: Vec<String>,
    args: Vec<Value>,
}

impl Filter {
    fn add(&mut self, condition: impl Into<String>, args: impl IntoIterator<Item = Value>) {
        self.conditions.push(condition.into());
        self.args.extend(args);
    }

    fn add_in(&mut self, column: &str, values: impl IntoIterator<Item = &'static str>) {
        let values: Vec<Value> = values
            .into_iter()
            .map(|v| Value::Text(v.to_string()))
            .collect();
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.add(format!("{column} IN ({marks})"), values);
    }

    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// The filter of a query, without paging; `None` when nothing can match.
fn query_filter(query: &SuppressionQuery) -> Result<Option<Filter>, StateError> {
    let mut filter = Filter::default();
    if let Some((condition, arg)) = scope_condition(query.lists)? {
        filter.add(condition, [arg]);
    }
    if let Some(recipient) = &query.recipient {
        let Ok(key) = recipient_key(recipient) else {
            return Ok(None);
        };
        filter.add("recipient_key = ?", [Value::Text(key)]);
    }
    if let Some(from) = query.updated_from {
        filter.add("updated >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = query.updated_to {
        filter.add("updated <= ?", [Value::Integer(to)]);
    }
    if let Some(domain) = &query.domain {
        filter.add("domain = ?", [Value::Text(domain.to_lowercase())]);
    }
    filter.add_in("source", query.sources.iter().map(|s| s.as_str()));
    filter.add_in("type", query.types.iter().map(|t| t.as_str()));
    match &query.description {
        None => {}
        Some(DescriptionFilter::Exact(text)) => {
            filter.add("description = ?", [Value::Text(text.clone())]);
        }
        Some(DescriptionFilter::Words(words)) => {
            for word in words.split_whitespace() {
                filter.add(
                    "description LIKE ? ESCAPE '\\'",
                    [Value::Text(contains_pattern(word))],
                );
            }
        }
    }
    if let Some((condition, arg)) = list_condition(&query.list) {
        filter.add(condition, [arg]);
    }
    Ok(Some(filter))
}

fn search(conn: &Connection, query: &SuppressionQuery) -> Result<SuppressionPage, StateError> {
    let Some(mut filter) = query_filter(query)? else {
        return Ok(SuppressionPage {
            entries: Vec::new(),
            total_count: 0,
            next: None,
        });
    };
    let total_count: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM suppressions{}",
            filter.clause()
        ))?
        .query_row(params_from_iter(filter.args.iter()), |row| row.get(0))?;

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
                    [
                        Value::Integer(cursor.updated),
                        Value::Integer(cursor.position),
                    ],
                );
            }
            (0, limit)
        }
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM suppressions{} ORDER BY updated {direction}, id {direction}
         LIMIT ? OFFSET ?",
        filter.clause()
    );
    let mut args = filter.args;
    // One more than asked for tells whether another page follows.
    args.push(Value::Integer(
        i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1,
    ));
    args.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(args.iter()))?;
    let mut stored = Vec::new();
    while let Some(row) = rows.next()? {
        stored.push(read_entry(row)?);
    }
    let more = stored.len() > limit;
    stored.truncate(limit);
    let next = more
        .then(|| stored.last())
        .flatten()
        .map(|last| SuppressionCursor {
            updated: last.entry.updated,
            position: last.id,
        });
    Ok(SuppressionPage {
        entries: stored.into_iter().map(|s| s.entry).collect(),
        total_count: u64::try_from(total_count).unwrap_or(0),
        next,
    })
}

/// The stored entry an upsert meets: rowid, source, time of what it reports.
fn existing(
    conn: &Connection,
    key: &str,
    subaccount: i64,
    suppression_type: SuppressionType,
    list_id: &str,
) -> Result<Option<(i64, SuppressionSource, i64)>, StateError> {
    let found = conn
        .prepare_cached(
            "SELECT id, source, occurred_at FROM suppressions
             WHERE recipient_key = ?1 AND subaccount = ?2 AND type = ?3 AND list_id = ?4",
        )?
        .query_row(
            params![key, subaccount, suppression_type.as_str(), list_id],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    found
        .map(|(id, source, occurred_at)| Ok((id, source.parse().map_err(corrupt)?, occurred_at)))
        .transpose()
}

/// Applies one entry inside the caller's transaction.
fn upsert_one(
    conn: &Connection,
    entry: &SuppressionUpsert,
    at: i64,
) -> Result<UpsertOutcome, StateError> {
    let key = recipient_key(&entry.recipient).map_err(|e| StateError::Invalid(e.to_string()))?;
    let domain =
        recipient_domain(&entry.recipient).map_err(|e| StateError::Invalid(e.to_string()))?;
    let subaccount = account_column(entry.subaccount)?;
    let list_id = entry.list_id.as_deref().unwrap_or("");
    let Some((id, stored_source, stored_time)) =
        existing(conn, &key, subaccount, entry.suppression_type, list_id)?
    else {
        conn.prepare_cached(
            "INSERT INTO suppressions (subaccount, recipient_key, recipient, domain, type,
                 list_id, source, description, occurred_at, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        )?
        .execute(params![
            subaccount,
            key,
            entry.recipient,
            domain,
            entry.suppression_type.as_str(),
            list_id,
            entry.source.as_str(),
            entry.description,
            entry.occurred_at,
            at,
        ])?;
        return Ok(UpsertOutcome::Created);
    };
    if !entry.source.may_replace(stored_source) {
        return Ok(UpsertOutcome::Kept);
    }
    if entry.source.is_automatic() && entry.occurred_at <= stored_time {
        return Ok(UpsertOutcome::Unchanged);
    }
    conn.prepare_cached(
        "UPDATE suppressions SET recipient = ?1, source = ?2, description = ?3,
             occurred_at = ?4, updated = ?5
         WHERE id = ?6",
    )?
    .execute(params![
        entry.recipient,
        entry.source.as_str(),
        entry.description,
        entry.occurred_at,
        at,
        id,
    ])?;
    Ok(UpsertOutcome::Updated)
}

/// Writes `entries` in one transaction, with the identities of the events they came from
/// when a subscriber writes them (`applied`).
fn upsert(
    conn: &Connection,
    entries: &[SuppressionUpsert],
    when_kept: WhenKept,
    applied: Option<AppliedBatch<'_>>,
) -> Result<UpsertReport, StateError> {
    for (index, entry) in entries.iter().enumerate() {
        validate_upsert(entry).map_err(|e| StateError::Invalid(format!("entry {index}: {e}")))?;
    }
    let tx = conn.unchecked_transaction()?;
    let at = unix_now();
    let mut outcomes = Vec::with_capacity(entries.len());
    for entry in entries {
        outcomes.push(upsert_one(&tx, entry, at)?);
    }
    let aborted = when_kept == WhenKept::Abort && outcomes.contains(&UpsertOutcome::Kept);
    if aborted {
        tx.rollback()?;
    } else {
        if let Some(applied) = applied {
            super::applied::remember(&tx, applied)?;
        }
        tx.commit()?;
    }
    Ok(UpsertReport {
        outcomes,
        committed: !aborted,
    })
}

fn delete(conn: &Connection, deletion: &SuppressionDeletion) -> Result<DeleteOutcome, StateError> {
    let Ok(key) = recipient_key(&deletion.recipient) else {
        return Ok(DeleteOutcome::NotFound);
    };
    let mut filter = Filter::default();
    filter.add("recipient_key = ?", [Value::Text(key)]);
    filter.add(
        "subaccount = ?",
        [Value::Integer(account_column(deletion.subaccount)?)],
    );
    if let Some(suppression_type) = deletion.suppression_type {
        filter.add("type = ?", [Value::Text(suppression_type.as_str().into())]);
    }
    if let Some((condition, arg)) = list_condition(&deletion.list) {
        filter.add(condition, [arg]);
    }
    let tx = conn.unchecked_transaction()?;
    let sources: Vec<String> = tx
        .prepare_cached(&format!(
            "SELECT source FROM suppressions{}",
            filter.clause()
        ))?
        .query_map(params_from_iter(filter.args.iter()), |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if sources.is_empty() {
        return Ok(DeleteOutcome::NotFound);
    }
    if sources
        .iter()
        .any(|s| s == SuppressionSource::Compliance.as_str())
    {
        return Ok(DeleteOutcome::Protected);
    }
    let removed = tx
        .prepare_cached(&format!("DELETE FROM suppressions{}", filter.clause()))?
        .execute(params_from_iter(filter.args.iter()))?;
    tx.commit()?;
    Ok(DeleteOutcome::Deleted(removed as u64))
}

fn find(
    conn: &Connection,
    recipient: &str,
    scope: ListScope,
) -> Result<Vec<Suppression>, StateError> {
    let Ok(key) = recipient_key(recipient) else {
        return Ok(Vec::new());
    };
    let mut filter = Filter::default();
    filter.add("recipient_key = ?", [Value::Text(key)]);
    if let Some((condition, arg)) = scope_condition(scope)? {
        filter.add(condition, [arg]);
    }
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM suppressions{} ORDER BY subaccount, type, list_id",
        filter.clause()
    ))?;
    let mut rows = statement.query(params_from_iter(filter.args.iter()))?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        entries.push(read_entry(row)?.entry);
    }
    Ok(entries)
}

fn summary(conn: &Connection, scope: ListScope) -> Result<SuppressionSummary, StateError> {
    let scoped = scope_condition(scope)?;
    let sql = match scoped {
        None => "SELECT COUNT(*) FROM suppressions WHERE source = ?1",
        Some(_) => "SELECT COUNT(*) FROM suppressions WHERE source = ?1 AND subaccount = ?2",
    };
    let mut statement = conn.prepare_cached(sql)?;
    let mut summary = SuppressionSummary::default();
    // One index range per source, for any scope.
    for source in SuppressionSource::ALL {
        let mut args = vec![Value::Text(source.as_str().into())];
        if let Some((_, arg)) = &scoped {
            args.push(arg.clone());
        }
        let count: i64 = statement.query_row(params_from_iter(args.iter()), |row| row.get(0))?;
        if count > 0 {
            summary
                .counts
                .insert(source, u64::try_from(count).unwrap_or(0));
        }
    }
    Ok(summary)
}

impl SuppressionStore for SqliteState {
    fn upsert_suppressions(
        &self,
        entries: Vec<SuppressionUpsert>,
        when_kept: WhenKept,
    ) -> Result<UpsertReport, StateError> {
        self.with(|conn| upsert(conn, &entries, when_kept, None))
    }

    fn upsert_from_events(
        &self,
        entries: Vec<SuppressionUpsert>,
        applied: AppliedBatch<'_>,
    ) -> Result<UpsertReport, StateError> {
        self.with(|conn| upsert(conn, &entries, WhenKept::Skip, Some(applied)))
    }

    fn find_suppressions(
        &self,
        recipient: &str,
        scope: ListScope,
    ) -> Result<Vec<Suppression>, StateError> {
        self.read(|conn| find(conn, recipient, scope))
    }

    fn delete_suppressions(
        &self,
        deletion: &SuppressionDeletion,
    ) -> Result<DeleteOutcome, StateError> {
        self.with(|conn| delete(conn, deletion))
    }

    fn search_suppressions(&self, query: &SuppressionQuery) -> Result<SuppressionPage, StateError> {
        self.read(|conn| search(conn, query))
    }

    fn suppression_summary(&self, scope: ListScope) -> Result<SuppressionSummary, StateError> {
        self.read(|conn| summary(conn, scope))
    }

    fn suppression_subaccounts(&self) -> Result<Vec<u64>, StateError> {
        self.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT DISTINCT subaccount FROM suppressions WHERE subaccount > 0
                 ORDER BY subaccount",
            )?;
            let ids = select.query_map([], |row| row.get::<_, i64>(0))?;
            let mut found = Vec::new();
            for id in ids {
                found.push(u64::try_from(id?).map_err(|e| StateError::Corrupt(e.to_string()))?);
            }
            Ok(found)
        })
    }
}

/// Migration: keys every entry by its whole address lower-cased ([`recipient_key`]); before,
/// the local part kept its case. Entries that now share a key (the same recipient, type, list
/// and account written in two spellings) merge into the one updated last, as a later upsert
/// would have replaced the earlier one. Runs inside the migration's transaction.
pub(super) fn rekey_case_insensitive(conn: &Connection) -> Result<(), StateError> {
    // The unique index would refuse a new key that a row not yet visited still holds.
    conn.execute_batch("DROP INDEX suppressions_by_recipient")?;
    let mut rows = Vec::new();
    {
        let mut select = conn.prepare(
            "SELECT id, recipient, recipient_key, subaccount, type, list_id FROM suppressions
             ORDER BY updated DESC, id DESC",
        )?;
        let mut cursor = select.query([])?;
        while let Some(row) = cursor.next()? {
            let recipient: String = row.get(1)?;
            let old_key: String = row.get(2)?;
            let key = recipient_key(&recipient).unwrap_or_else(|_| old_key.to_lowercase());
            let changed = key != old_key;
            let account: (i64, String, String) = (row.get(3)?, row.get(4)?, row.get(5)?);
            rows.push((row.get::<_, i64>(0)?, key, changed, account));
        }
    }
    let mut kept = std::collections::HashSet::new();
    for (id, key, changed, account) in rows {
        if !kept.insert((key.clone(), account)) {
            conn.execute("DELETE FROM suppressions WHERE id = ?1", [id])?;
        } else if changed {
            conn.execute(
                "UPDATE suppressions SET recipient_key = ?1 WHERE id = ?2",
                params![key, id],
            )?;
        }
    }
    conn.execute_batch(
        "CREATE UNIQUE INDEX suppressions_by_recipient
            ON suppressions (recipient_key, subaccount, type, list_id)",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::tests::store;
    use SuppressionSource::*;
    use SuppressionType::*;

    fn entry(
        recipient: &str,
        kind: SuppressionType,
        source: SuppressionSource,
    ) -> SuppressionUpsert {
        SuppressionUpsert {
            recipient: recipient.into(),
            suppression_type: kind,
            source,
            description: Some(format!("{source} for {recipient}")),
            list_id: None,
            subaccount: None,
            occurred_at: 1_000,
        }
    }

    #[test]
    fn entries_written_with_case_sensitive_keys_are_found_and_merged_after_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        {
            // A database as the release before left it: keys keep the local part's case.
            let conn = Connection::open(&path).unwrap();
            super::super::migrate_to(&conn, 6).unwrap();
            let insert = |key: &str, recipient: &str, kind: &str, updated: i64| {
                conn.execute(
                    "INSERT INTO suppressions (subaccount, recipient_key, recipient, domain, type,
                        list_id, source, description, occurred_at, created, updated)
                     VALUES (0, ?1, ?2, 'yahoo.com', ?3, '', 'Bounce Rule', ?2, 1, 1, ?4)",
                    params![key, recipient, kind, updated],
                )
                .unwrap();
            };
            insert(
                "User41@yahoo.com",
                "User41@yahoo.com",
                "non_transactional",
                10,
            );
            insert(
                "user41@yahoo.com",
                "user41@Yahoo.com",
                "non_transactional",
                20,
            );
            insert("USER41@yahoo.com", "USER41@yahoo.com", "transactional", 5);
            insert("Jörg@yahoo.com", "Jörg@yahoo.com", "transactional", 5);
        }
        let state = SqliteState::open(&path).unwrap();
        let mut found = state
            .find_suppressions("user41@YAHOO.com", ListScope::All)
            .unwrap();
        found.sort_by_key(|e| e.suppression_type.to_string());
        let shown: Vec<_> = found
            .iter()
            .map(|e| (e.recipient.as_str(), e.suppression_type))
            .collect();
        // The two non-transactional spellings merged into the one written last.
        assert_eq!(
            shown,
            [
                ("user41@Yahoo.com", NonTransactional),
                ("USER41@yahoo.com", Transactional)
            ]
        );
        let unicode = state.find_suppressions("jöRG@yahoo.com", ListScope::All);
        assert_eq!(unicode.unwrap().len(), 1);
        // New writes in another spelling update the merged entry, never add one.
        let report = upsert(
            &state,
            vec![entry("USER41@YAHOO.COM", NonTransactional, BounceRule)],
        );
        assert_eq!(report, [UpsertOutcome::Updated]);
    }

    fn upsert(state: &SqliteState, entries: Vec<SuppressionUpsert>) -> Vec<UpsertOutcome> {
        let report = state.upsert_suppressions(entries, WhenKept::Skip).unwrap();
        assert!(report.committed);
        report.outcomes
    }

    /// Moves every entry of `recipient` to `updated` (tests need distinct times without waiting).
    fn set_updated(state: &SqliteState, recipient: &str, updated: i64) {
        let key = recipient_key(recipient).unwrap();
        state
            .with(|conn| {
                conn.execute(
                    "UPDATE suppressions SET updated = ?1 WHERE recipient_key = ?2",
                    params![updated, key],
                )?;
                Ok(())
            })
            .unwrap();
    }

    fn recipients(page: &SuppressionPage) -> Vec<String> {
        page.entries.iter().map(|e| e.recipient.clone()).collect()
    }

    #[test]
    fn creates_finds_case_insensitively_by_domain_and_keeps_the_display_form() {
        let (_dir, state) = store();
        let before = unix_now();
        let outcomes = upsert(
            &state,
            vec![
                entry("Local@Example.COM", Transactional, ManuallyAdded),
                entry("other@example.com", NonTransactional, BounceRule),
            ],
        );
        assert_eq!(outcomes, [UpsertOutcome::Created, UpsertOutcome::Created]);
        let found = state
            .find_suppressions("Local@example.com", ListScope::All)
            .unwrap();
        assert_eq!(found.len(), 1);
        let stored = &found[0];
        assert_eq!(stored.recipient, "Local@Example.COM");
        assert_eq!(stored.suppression_type, Transactional);
        assert_eq!(stored.source, ManuallyAdded);
        assert_eq!(
            stored.description.as_deref(),
            Some("Manually Added for Local@Example.COM")
        );
        assert_eq!((stored.list_id.as_deref(), stored.subaccount), (None, None));
        assert!(stored.created >= before && stored.updated == stored.created);
        // Found whatever the letter case of the address asked for.
        let found = state
            .find_suppressions("local@EXAMPLE.com", ListScope::All)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "Local@Example.COM");
        assert!(state
            .find_suppressions("not an address", ListScope::All)
            .unwrap()
            .is_empty());

        // Written again with another spelling of the domain: the same entry, shown as now sent.
        let mut again = entry("Local@EXAMPLE.com", Transactional, ManuallyAdded);
        again.description = None;
        assert_eq!(upsert(&state, vec![again]), [UpsertOutcome::Updated]);
        let found = state
            .find_suppressions("Local@example.com", ListScope::Primary)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "Local@EXAMPLE.com");
        assert_eq!(found[0].description, None);
    }

    #[test]
    fn entries_are_per_account_type_and_list() {
        let (_dir, state) = store();
        let base = entry("a@example.com", Transactional, ManuallyAdded);
        let mut non = base.clone();
        non.suppression_type = NonTransactional;
        let mut listed = base.clone();
        listed.list_id = Some("news.example.com".into());
        let mut sub = base.clone();
        sub.subaccount = Some(7);
        let mut zero = base.clone();
        zero.subaccount = Some(0);
        let outcomes = upsert(&state, vec![base, non, listed, sub, zero]);
        assert_eq!(
            outcomes,
            [
                UpsertOutcome::Created,
                UpsertOutcome::Created,
                UpsertOutcome::Created,
                UpsertOutcome::Created,
                UpsertOutcome::Updated, // subaccount 0 is the primary account
            ]
        );
        let all = state
            .find_suppressions("a@example.com", ListScope::All)
            .unwrap();
        assert_eq!(all.len(), 4);
        let primary = state
            .find_suppressions("a@example.com", ListScope::Primary)
            .unwrap();
        assert_eq!(primary.len(), 3);
        assert!(primary.iter().all(|e| e.subaccount.is_none()));
        assert_eq!(
            primary
                .iter()
                .filter_map(|e| e.list_id.as_deref())
                .collect::<Vec<_>>(),
            ["news.example.com"]
        );
        let sub = state
            .find_suppressions("a@example.com", ListScope::Subaccount(7))
            .unwrap();
        assert_eq!(sub.len(), 1);
        assert_eq!(sub[0].subaccount, Some(7));
        assert!(state
            .find_suppressions("a@example.com", ListScope::Subaccount(8))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn automatic_writes_respect_people_compliance_and_time() {
        let (_dir, state) = store();
        upsert(
            &state,
            vec![
                entry("manual@example.com", NonTransactional, ManuallyAdded),
                entry("legal@example.com", NonTransactional, Compliance),
                entry("bounced@example.com", NonTransactional, BounceRule),
            ],
        );
        set_updated(&state, "bounced@example.com", 500);
        let complaint = |recipient: &str, at: i64| {
            let mut e = entry(recipient, NonTransactional, SpamComplaint);
            e.occurred_at = at;
            e
        };
        let outcomes = upsert(
            &state,
            vec![
                complaint("manual@example.com", 2_000),
                complaint("legal@example.com", 2_000),
                complaint("bounced@example.com", 1_000), // not later than the bounce
            ],
        );
        assert_eq!(
            outcomes,
            [
                UpsertOutcome::Kept,
                UpsertOutcome::Kept,
                UpsertOutcome::Unchanged
            ]
        );
        let source_of = |recipient: &str| {
            let found = state.find_suppressions(recipient, ListScope::All).unwrap();
            (found[0].source, found[0].updated)
        };
        assert_eq!(source_of("manual@example.com").0, ManuallyAdded);
        assert_eq!(source_of("legal@example.com").0, Compliance);
        assert_eq!(source_of("bounced@example.com"), (BounceRule, 500));

        // A later event replaces an automatic entry, and its redelivery changes nothing.
        let later = complaint("bounced@example.com", 3_000);
        assert_eq!(
            upsert(&state, vec![later.clone()]),
            [UpsertOutcome::Updated]
        );
        let (source, updated) = source_of("bounced@example.com");
        assert_eq!(source, SpamComplaint);
        assert!(updated >= unix_now() - 5);
        set_updated(&state, "bounced@example.com", 600);
        assert_eq!(upsert(&state, vec![later]), [UpsertOutcome::Unchanged]);
        assert_eq!(source_of("bounced@example.com"), (SpamComplaint, 600));

        // People replace automatic entries but not compliance ones.
        let outcomes = upsert(
            &state,
            vec![
                entry("bounced@example.com", NonTransactional, ManuallyAdded),
                entry("legal@example.com", NonTransactional, ManuallyAdded),
            ],
        );
        assert_eq!(outcomes, [UpsertOutcome::Updated, UpsertOutcome::Kept]);
        assert_eq!(source_of("bounced@example.com").0, ManuallyAdded);
        assert_eq!(source_of("legal@example.com").0, Compliance);
    }

    #[test]
    fn abort_writes_nothing_when_an_entry_is_kept() {
        let (_dir, state) = store();
        upsert(
            &state,
            vec![entry("legal@example.com", Transactional, Compliance)],
        );
        let report = state
            .upsert_suppressions(
                vec![
                    entry("new@example.com", Transactional, ManuallyAdded),
                    entry("legal@example.com", Transactional, ManuallyAdded),
                ],
                WhenKept::Abort,
            )
            .unwrap();
        assert!(!report.committed);
        assert_eq!(report.kept(), [1]);
        assert!(state
            .find_suppressions("new@example.com", ListScope::All)
            .unwrap()
            .is_empty());
        assert_eq!(
            state.suppression_summary(ListScope::All).unwrap().total(),
            1
        );
    }

    #[test]
    fn an_invalid_entry_fails_the_whole_upsert() {
        let (_dir, state) = store();
        let mut bad_list = entry("b@example.com", Transactional, ManuallyAdded);
        bad_list.list_id = Some("..".into());
        for bad in [
            entry("not-an-address", Transactional, ManuallyAdded),
            bad_list,
        ] {
            let err = state
                .upsert_suppressions(
                    vec![entry("a@example.com", Transactional, ManuallyAdded), bad],
                    WhenKept::Skip,
                )
                .unwrap_err();
            assert!(err.to_string().starts_with("entry 1: "), "{err}");
        }
        assert_eq!(
            state.suppression_summary(ListScope::All).unwrap().total(),
            0
        );
    }

    #[test]
    fn deletes_by_type_and_list_and_protects_compliance() {
        let (_dir, state) = store();
        let with_list = |kind, list: Option<&str>| {
            let mut e = entry("r@example.com", kind, ManuallyAdded);
            e.list_id = list.map(String::from);
            e
        };
        upsert(
            &state,
            vec![
                with_list(Transactional, None),
                with_list(NonTransactional, None),
                with_list(NonTransactional, Some("news")),
                with_list(NonTransactional, Some("offers")),
            ],
        );
        let deletion = |kind, list| SuppressionDeletion {
            recipient: "r@EXAMPLE.com".into(),
            subaccount: None,
            suppression_type: kind,
            list,
        };
        let remaining = || {
            let mut left: Vec<(SuppressionType, Option<String>)> = state
                .find_suppressions("r@example.com", ListScope::All)
                .unwrap()
                .into_iter()
                .map(|e| (e.suppression_type, e.list_id))
                .collect();
            left.sort();
            left
        };
        assert_eq!(
            state
                .delete_suppressions(&deletion(None, ListSelector::List("news".into())))
                .unwrap(),
            DeleteOutcome::Deleted(1)
        );
        assert_eq!(
            state
                .delete_suppressions(&deletion(Some(Transactional), ListSelector::AccountLevel))
                .unwrap(),
            DeleteOutcome::Deleted(1)
        );
        assert_eq!(
            remaining(),
            [
                (NonTransactional, None),
                (NonTransactional, Some("offers".into()))
            ]
        );
        assert_eq!(
            state
                .delete_suppressions(&deletion(Some(Transactional), ListSelector::Any))
                .unwrap(),
            DeleteOutcome::NotFound
        );
        let mut other_account = deletion(None, ListSelector::Any);
        other_account.subaccount = Some(3);
        assert_eq!(
            state.delete_suppressions(&other_account).unwrap(),
            DeleteOutcome::NotFound
        );
        assert_eq!(
            state
                .delete_suppressions(&deletion(None, ListSelector::Any))
                .unwrap(),
            DeleteOutcome::Deleted(2)
        );
        assert!(remaining().is_empty());

        upsert(
            &state,
            vec![
                entry("r@example.com", Transactional, Compliance),
                entry("r@example.com", NonTransactional, BounceRule),
            ],
        );
        assert_eq!(
            state
                .delete_suppressions(&deletion(None, ListSelector::Any))
                .unwrap(),
            DeleteOutcome::Protected
        );
        assert_eq!(remaining().len(), 2, "nothing removed");
        assert_eq!(
            state
                .delete_suppressions(&deletion(Some(NonTransactional), ListSelector::Any))
                .unwrap(),
            DeleteOutcome::Deleted(1)
        );
    }

    /// Twelve entries over two accounts, two domains, sources and types; `updated` is
    /// 100 + i / 2 (pairs share a second).
    fn populated() -> (tempfile::TempDir, SqliteState) {
        let (dir, state) = store();
        let sources = [BounceRule, SpamComplaint, ManuallyAdded];
        let entries: Vec<SuppressionUpsert> = (0..12)
            .map(|i| {
                let domain = if i % 2 == 0 {
                    "Even.example"
                } else {
                    "odd.example"
                };
                let mut e = entry(
                    &format!("user{i:02}@{domain}"),
                    if i % 3 == 0 {
                        Transactional
                    } else {
                        NonTransactional
                    },
                    sources[i % 3],
                );
                e.subaccount = (i % 4 == 3).then_some(5);
                e.description = Some(format!("550 5.1.1 <user{i}> 100%_unknown mailbox"));
                e
            })
            .collect();
        upsert(&state, entries);
        for i in 0..12 {
            let domain = if i % 2 == 0 {
                "even.example"
            } else {
                "odd.example"
            };
            set_updated(&state, &format!("user{i:02}@{domain}"), 100 + i as i64 / 2);
        }
        (dir, state)
    }

    fn query(page: PageRequest) -> SuppressionQuery {
        SuppressionQuery {
            page,
            ..SuppressionQuery::default()
        }
    }

    #[test]
    fn cursor_paging_visits_every_entry_once_in_order() {
        let (_dir, state) = populated();
        for order in [SortOrder::Descending, SortOrder::Ascending] {
            let mut seen = Vec::new();
            let mut after = None;
            let mut pages = 0;
            loop {
                let mut q = query(PageRequest::Cursor { after, limit: 5 });
                q.order = order;
                let page = state.search_suppressions(&q).unwrap();
                assert_eq!(page.total_count, 12);
                seen.extend(
                    page.entries
                        .iter()
                        .map(|e| (e.updated, e.recipient.clone())),
                );
                pages += 1;
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
                assert!(pages < 10, "paging does not end");
            }
            assert_eq!(pages, 3);
            assert_eq!(seen.len(), 12);
            let mut unique: Vec<_> = seen.iter().map(|(_, r)| r.clone()).collect();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 12, "no repeats");
            let times: Vec<i64> = seen.iter().map(|(t, _)| *t).collect();
            let mut sorted = times.clone();
            sorted.sort();
            if order == SortOrder::Descending {
                sorted.reverse();
            }
            assert_eq!(times, sorted);
        }
    }

    #[test]
    fn offset_paging_and_order() {
        let (_dir, state) = populated();
        let first = state
            .search_suppressions(&query(PageRequest::Offset {
                offset: 0,
                limit: 4,
            }))
            .unwrap();
        let second = state
            .search_suppressions(&query(PageRequest::Offset {
                offset: 4,
                limit: 4,
            }))
            .unwrap();
        let last = state
            .search_suppressions(&query(PageRequest::Offset {
                offset: 8,
                limit: 4,
            }))
            .unwrap();
        assert_eq!(recipients(&first)[0], "user11@odd.example", "newest first");
        assert!(first.next.is_some() && second.next.is_some());
        assert!(last.next.is_none());
        let mut all: Vec<String> = [first, second, last].iter().flat_map(recipients).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 12);
    }

    #[test]
    fn filters_combine() {
        let (_dir, state) = populated();
        let count = |q: SuppressionQuery| state.search_suppressions(&q).unwrap().total_count;
        let base = SuppressionQuery::default;
        assert_eq!(count(base()), 12);
        assert_eq!(
            count(SuppressionQuery {
                domain: Some("EVEN.example".into()),
                ..base()
            }),
            6
        );
        assert_eq!(
            count(SuppressionQuery {
                sources: vec![BounceRule, ManuallyAdded],
                ..base()
            }),
            8
        );
        assert_eq!(
            count(SuppressionQuery {
                types: vec![Transactional],
                ..base()
            }),
            4
        );
        assert_eq!(
            count(SuppressionQuery {
                updated_from: Some(101),
                updated_to: Some(103),
                ..base()
            }),
            6
        );
        let page = state
            .search_suppressions(&SuppressionQuery {
                recipient: Some("user03@ODD.example".into()),
                ..base()
            })
            .unwrap();
        assert_eq!(recipients(&page), ["user03@odd.example"]);
        // Words in any order, ASCII case ignored; LIKE wildcards in the text match literally.
        assert_eq!(
            count(SuppressionQuery {
                description: Some(DescriptionFilter::Words("MAILBOX 550".into())),
                ..base()
            }),
            12
        );
        assert_eq!(
            count(SuppressionQuery {
                description: Some(DescriptionFilter::Words("100%_unknown <user1>".into())),
                ..base()
            }),
            1
        );
        assert_eq!(
            count(SuppressionQuery {
                description: Some(DescriptionFilter::Words("100%x".into())),
                ..base()
            }),
            0
        );
        assert_eq!(
            count(SuppressionQuery {
                description: Some(DescriptionFilter::Exact(
                    "550 5.1.1 <user4> 100%_unknown mailbox".into()
                )),
                ..base()
            }),
            1
        );
        assert_eq!(
            count(SuppressionQuery {
                description: Some(DescriptionFilter::Exact("550".into())),
                ..base()
            }),
            0
        );
    }

    #[test]
    fn scopes_lists_and_summaries() {
        let (_dir, state) = store();
        let mut listed = entry("l@example.com", NonTransactional, ManuallyAdded);
        listed.list_id = Some("news".into());
        let mut sub = entry("s@example.com", NonTransactional, SpamComplaint);
        sub.subaccount = Some(9);
        upsert(
            &state,
            vec![
                entry("p@example.com", Transactional, BounceRule),
                entry("p@example.com", NonTransactional, BounceRule),
                listed,
                sub,
                entry("c@example.com", Transactional, Compliance),
            ],
        );
        let search = |lists, list| {
            let mut found = recipients(
                &state
                    .search_suppressions(&SuppressionQuery {
                        lists,
                        list,
                        ..SuppressionQuery::default()
                    })
                    .unwrap(),
            );
            found.sort();
            found
        };
        assert_eq!(search(ListScope::All, ListSelector::Any).len(), 5);
        assert_eq!(
            search(ListScope::Subaccount(9), ListSelector::Any),
            ["s@example.com"]
        );
        assert_eq!(
            search(ListScope::Primary, ListSelector::List("news".into())),
            ["l@example.com"]
        );
        assert_eq!(
            search(ListScope::Primary, ListSelector::AccountLevel),
            ["c@example.com", "p@example.com", "p@example.com"]
        );

        let all = state.suppression_summary(ListScope::All).unwrap();
        assert_eq!(all.count(BounceRule), 2);
        assert_eq!(all.count(ManuallyAdded), 1);
        assert_eq!(all.count(SpamComplaint), 1);
        assert_eq!(all.count(Compliance), 1);
        assert_eq!(all.count(UnsubscribeLink), 0);
        assert_eq!(all.total(), 5);
        let primary = state.suppression_summary(ListScope::Primary).unwrap();
        assert_eq!((primary.total(), primary.count(SpamComplaint)), (4, 0));
        let sub = state.suppression_summary(ListScope::Subaccount(9)).unwrap();
        assert_eq!((sub.total(), sub.count(SpamComplaint)), (1, 1));
    }

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let state = SqliteState::open(&path).unwrap();
        upsert(
            &state,
            vec![entry("kept@example.com", Transactional, ManuallyAdded)],
        );
        drop(state);
        let reopened = SqliteState::open(&path).unwrap();
        assert_eq!(
            reopened
                .find_suppressions("kept@example.com", ListScope::All)
                .unwrap()
                .len(),
            1
        );
    }
}
