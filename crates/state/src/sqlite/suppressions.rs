//! [`SuppressionStore`] on SQLite: one row per entry, keyed by (recipient key, subaccount,
//! type, list id). The statements and decisions are shared with PostgreSQL
//! ([`crate::suppressions::query`]); the rowid is the entry's `id`.

use rusqlite::types::ToSqlOutput;
use rusqlite::{params, params_from_iter, Connection, ToSql};

use super::SqliteState;
use crate::suppressions::query::{
    self, read_entry, read_existing, Arg, Columns, Dialect, EntryKey, Existing, Plan, Statement,
    EXISTING_COLUMNS,
};
use crate::suppressions::{
    recipient_key, DeleteOutcome, ListScope, Suppression, SuppressionDeletion, SuppressionPage,
    SuppressionQuery, SuppressionSource, SuppressionStore, SuppressionSummary, SuppressionUpsert,
    UpsertReport, WhenKept,
};
use crate::unix_now;
use crate::AppliedBatch;
use crate::StateError;

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Int(n) => Ok(ToSqlOutput::from(*n)),
            Arg::Text(text) => Ok(ToSqlOutput::from(text.as_str())),
            Arg::Texts(_) => Err(rusqlite::Error::ToSqlConversionFailure(
                "SQLite statements take no arrays".into(),
            )),
        }
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, column: &str) -> Result<i64, StateError> {
        Ok(self.get(column)?)
    }

    fn text(&self, column: &str) -> Result<String, StateError> {
        Ok(self.get(column)?)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, StateError> {
        Ok(self.get(column)?)
    }
}

/// Runs `statement` and reads each row with `read`.
fn select<T>(
    conn: &Connection,
    statement: &Statement,
    read: impl Fn(&rusqlite::Row<'_>) -> Result<T, StateError>,
) -> Result<Vec<T>, StateError> {
    let mut prepared = conn.prepare_cached(&statement.sql)?;
    let mut rows = prepared.query(params_from_iter(&statement.args))?;
    let mut read_rows = Vec::new();
    while let Some(row) = rows.next()? {
        read_rows.push(read(row)?);
    }
    Ok(read_rows)
}

/// Runs `statement`, which returns one integer.
fn select_int(conn: &Connection, statement: &Statement) -> Result<i64, StateError> {
    Ok(conn
        .prepare_cached(&statement.sql)?
        .query_row(params_from_iter(&statement.args), |row| row.get(0))?)
}

fn search(conn: &Connection, query: &SuppressionQuery) -> Result<SuppressionPage, StateError> {
    let Some(search) = query::search(query, Dialect::Sqlite)? else {
        return Ok(query::empty_page());
    };
    let total_count = select_int(conn, &search.count)?;
    let stored = select(conn, &search.page, |row| read_entry(row))?;
    Ok(query::page(stored, search.limit, total_count))
}

/// The stored entry under `key`, if any.
fn existing(conn: &Connection, key: &EntryKey) -> Result<Option<Existing>, StateError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {EXISTING_COLUMNS} FROM suppressions
         WHERE recipient_key = ?1 AND subaccount = ?2 AND type = ?3 AND list_id = ?4"
    ))?;
    let mut rows = select.query(params![
        key.recipient_key,
        key.subaccount,
        key.suppression_type.as_str(),
        key.list_id
    ])?;
    rows.next()?
        .map(|row| read_existing(row).map(|(_, existing)| existing))
        .transpose()
}

/// Writes `entries` in one transaction, with the identities of the events they came from
/// when a subscriber writes them (`applied`).
fn upsert(
    conn: &Connection,
    entries: Vec<SuppressionUpsert>,
    when_kept: WhenKept,
    applied: Option<AppliedBatch<'_>>,
) -> Result<UpsertReport, StateError> {
    let rows = query::rows(entries)?;
    let tx = conn.unchecked_transaction()?;
    let plan = Plan::new(rows, |key| existing(&tx, key))?;
    if !plan.writes(when_kept) {
        tx.rollback()?;
        return Ok(plan.report(false));
    }
    let at = unix_now();
    let mut insert = tx.prepare_cached(
        "INSERT INTO suppressions (subaccount, recipient_key, recipient, domain, type,
             list_id, source, description, occurred_at, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?;
    for row in &plan.creates {
        insert.execute(params![
            row.key.subaccount,
            row.key.recipient_key,
            row.recipient,
            row.domain,
            row.key.suppression_type.as_str(),
            row.key.list_id,
            row.source.as_str(),
            row.description,
            row.occurred_at,
            at,
        ])?;
    }
    let mut update = tx.prepare_cached(
        "UPDATE suppressions SET recipient = ?1, source = ?2, description = ?3,
             occurred_at = ?4, updated = ?5
         WHERE id = ?6",
    )?;
    for (id, row) in &plan.updates {
        update.execute(params![
            row.recipient,
            row.source.as_str(),
            row.description,
            row.occurred_at,
            at,
            id,
        ])?;
    }
    drop((insert, update));
    if let Some(applied) = applied {
        super::applied::remember(&tx, applied)?;
    }
    tx.commit()?;
    Ok(plan.report(true))
}

fn delete(conn: &Connection, deletion: &SuppressionDeletion) -> Result<DeleteOutcome, StateError> {
    let Some(deletion) = query::deletion(deletion, Dialect::Sqlite)? else {
        return Ok(DeleteOutcome::NotFound);
    };
    let tx = conn.unchecked_transaction()?;
    let sources = select(&tx, &deletion.sources, |row| Ok(row.get(0)?))?;
    if let Some(refused) = query::refuse_deletion(&sources) {
        return Ok(refused);
    }
    let removed = tx
        .prepare_cached(&deletion.delete.sql)?
        .execute(params_from_iter(&deletion.delete.args))?;
    tx.commit()?;
    Ok(DeleteOutcome::Deleted(
        u64::try_from(removed).unwrap_or(u64::MAX),
    ))
}

fn find(
    conn: &Connection,
    recipient: &str,
    scope: ListScope,
) -> Result<Vec<Suppression>, StateError> {
    let Some(find) = query::find(recipient, scope, Dialect::Sqlite)? else {
        return Ok(Vec::new());
    };
    select(conn, &find, |row| Ok(read_entry(row)?.entry))
}

fn summary(conn: &Connection, scope: ListScope) -> Result<SuppressionSummary, StateError> {
    let mut summary = SuppressionSummary::default();
    // One index range per source, for any scope.
    for source in SuppressionSource::ALL {
        let count = select_int(conn, &query::source_count(source, scope, Dialect::Sqlite)?)?;
        query::add_count(&mut summary, source, count)?;
    }
    Ok(summary)
}

impl SuppressionStore for SqliteState {
    fn upsert_suppressions(
        &self,
        entries: Vec<SuppressionUpsert>,
        when_kept: WhenKept,
    ) -> Result<UpsertReport, StateError> {
        self.with(|conn| upsert(conn, entries, when_kept, None))
    }

    fn upsert_from_events(
        &self,
        entries: Vec<SuppressionUpsert>,
        applied: AppliedBatch<'_>,
    ) -> Result<UpsertReport, StateError> {
        self.with(|conn| upsert(conn, entries, WhenKept::Skip, Some(applied)))
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
            let statement = Statement {
                sql: query::SUBACCOUNTS.into(),
                args: Vec::new(),
            };
            select(conn, &statement, |row| query::subaccount_id(row.get(0)?))
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
    use crate::suppressions::{SuppressionType, UpsertOutcome};
    use SuppressionSource::*;
    use SuppressionType::*;

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
        let entry = SuppressionUpsert {
            recipient: "USER41@YAHOO.COM".into(),
            suppression_type: NonTransactional,
            source: BounceRule,
            description: None,
            list_id: None,
            subaccount: None,
            occurred_at: 1_000,
        };
        let report = state
            .upsert_suppressions(vec![entry], WhenKept::Skip)
            .unwrap();
        assert_eq!(report.outcomes, [UpsertOutcome::Updated]);
    }
}
