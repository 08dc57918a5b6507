//! [`SuppressionStore`] on PostgreSQL. The statements and decisions are shared with SQLite
//! ([`crate::suppressions::query`]).
//!
//! Writers serialise on the table's SHARE ROW EXCLUSIVE lock, taken first in their
//! transaction (readers are not blocked), so two processes can neither both create one key
//! nor delete an entry another is turning into `Compliance`. An upsert costs the same few
//! round trips whatever its size: the stored rows of all its keys are read with one query,
//! the entries decided in order in Rust, then the new rows inserted with one statement and
//! the replaced ones updated with another.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::PostgresState;
use crate::applied::PackedBatch;
use crate::suppressions::query::{
    self, read_entry, read_existing, Arg, Columns, Dialect, EntryKey, Existing, Plan, Statement,
    EXISTING_COLUMNS,
};
use crate::suppressions::{
    DeleteOutcome, ListScope, Suppression, SuppressionDeletion, SuppressionPage, SuppressionQuery,
    SuppressionStore, SuppressionSummary, SuppressionUpsert, UpsertReport, WhenKept,
};
use crate::{unix_now, AppliedBatch, StateError};

/// Taken first by every writing transaction.
const LOCK: &str = "LOCK TABLE suppressions IN SHARE ROW EXCLUSIVE MODE";

impl Columns for Row {
    fn int(&self, column: &str) -> Result<i64, StateError> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> Result<String, StateError> {
        Ok(self.try_get(column)?)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, StateError> {
        Ok(self.try_get(column)?)
    }
}

/// The arguments of a statement, as PostgreSQL binds them.
fn bind(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|arg| -> &(dyn ToSql + Sync) {
            match arg {
                Arg::Int(n) => n,
                Arg::Text(text) => text,
                Arg::Texts(texts) => texts,
            }
        })
        .collect()
}

/// Runs `statement` (prepared once per connection) and returns its rows.
async fn select(
    client: &impl GenericClient,
    statement: &Statement,
) -> Result<Vec<Row>, StateError> {
    let prepared = client.prepare_cached(&statement.sql).await?;
    Ok(client.query(&prepared, &bind(&statement.args)).await?)
}

/// The stored entries under the keys of `rows`, read with one query.
async fn existing(
    tx: &Transaction<'_>,
    rows: &[query::Row],
) -> Result<HashMap<EntryKey, Existing>, StateError> {
    let keys: HashSet<&EntryKey> = rows.iter().map(|row| &row.key).collect();
    let mut recipient_keys = Vec::with_capacity(keys.len());
    let mut subaccounts = Vec::with_capacity(keys.len());
    let mut types = Vec::with_capacity(keys.len());
    let mut list_ids = Vec::with_capacity(keys.len());
    for key in keys {
        recipient_keys.push(key.recipient_key.as_str());
        subaccounts.push(key.subaccount);
        types.push(key.suppression_type.as_str());
        list_ids.push(key.list_id.as_str());
    }
    let select = tx
        .prepare_cached(&format!(
            "SELECT {EXISTING_COLUMNS} FROM suppressions
             WHERE (recipient_key, subaccount, type, list_id) IN (
                 SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[]))"
        ))
        .await?;
    tx.query(&select, &[&recipient_keys, &subaccounts, &types, &list_ids])
        .await?
        .iter()
        .map(read_existing)
        .collect()
}

/// Inserts `rows`, in order, with one statement.
async fn create(tx: &Transaction<'_>, rows: &[query::Row], at: i64) -> Result<(), StateError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut subaccounts = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut recipients = Vec::with_capacity(rows.len());
    let mut domains = Vec::with_capacity(rows.len());
    let mut types = Vec::with_capacity(rows.len());
    let mut list_ids = Vec::with_capacity(rows.len());
    let mut sources = Vec::with_capacity(rows.len());
    let mut descriptions = Vec::with_capacity(rows.len());
    let mut occurred = Vec::with_capacity(rows.len());
    for row in rows {
        subaccounts.push(row.key.subaccount);
        keys.push(row.key.recipient_key.as_str());
        recipients.push(row.recipient.as_str());
        domains.push(row.domain.as_str());
        types.push(row.key.suppression_type.as_str());
        list_ids.push(row.key.list_id.as_str());
        sources.push(row.source.as_str());
        descriptions.push(row.description.as_deref());
        occurred.push(row.occurred_at);
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO suppressions (subaccount, recipient_key, recipient, domain, type,
                 list_id, source, description, occurred_at, created, updated)
             SELECT subaccount, recipient_key, recipient, domain, type, list_id, source,
                 description, occurred_at, $10, $10
             FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                     $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[])
                 WITH ORDINALITY AS added (subaccount, recipient_key, recipient, domain, type,
                     list_id, source, description, occurred_at, position)
             ORDER BY position",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &subaccounts,
            &keys,
            &recipients,
            &domains,
            &types,
            &list_ids,
            &sources,
            &descriptions,
            &occurred,
            &at,
        ],
    )
    .await?;
    Ok(())
}

/// Replaces the stored rows of `updates` (`id`, new values) with one statement.
async fn update(
    tx: &Transaction<'_>,
    updates: &[(i64, query::Row)],
    at: i64,
) -> Result<(), StateError> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(updates.len());
    let mut recipients = Vec::with_capacity(updates.len());
    let mut sources = Vec::with_capacity(updates.len());
    let mut descriptions = Vec::with_capacity(updates.len());
    let mut occurred = Vec::with_capacity(updates.len());
    for (id, row) in updates {
        ids.push(*id);
        recipients.push(row.recipient.as_str());
        sources.push(row.source.as_str());
        descriptions.push(row.description.as_deref());
        occurred.push(row.occurred_at);
    }
    let statement = tx
        .prepare_cached(
            "UPDATE suppressions SET recipient = changed.recipient, source = changed.source,
                 description = changed.description, occurred_at = changed.occurred_at,
                 updated = $6
             FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])
                 AS changed (id, recipient, source, description, occurred_at)
             WHERE suppressions.id = changed.id",
        )
        .await?;
    tx.execute(
        &statement,
        &[&ids, &recipients, &sources, &descriptions, &occurred, &at],
    )
    .await?;
    Ok(())
}

impl PostgresState {
    /// Writes `entries` in one transaction, with the identities of the events they came from
    /// when a subscriber writes them (`applied`).
    fn upsert(
        &self,
        entries: Vec<SuppressionUpsert>,
        when_kept: WhenKept,
        applied: Option<PackedBatch>,
    ) -> Result<UpsertReport, StateError> {
        let rows = query::rows(entries)?;
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let stored = if rows.is_empty() {
                HashMap::new()
            } else {
                tx.batch_execute(LOCK).await?;
                existing(&tx, &rows).await?
            };
            let plan = Plan::new(rows, |key| Ok(stored.get(key).copied()))?;
            if !plan.writes(when_kept) {
                tx.rollback().await?;
                return Ok(plan.report(false));
            }
            let at = unix_now();
            create(&tx, &plan.creates, at).await?;
            update(&tx, &plan.updates, at).await?;
            if let Some(applied) = &applied {
                super::applied::remember(&tx, applied).await?;
            }
            tx.commit().await?;
            Ok(plan.report(true))
        })
    }
}

impl SuppressionStore for PostgresState {
    fn upsert_suppressions(
        &self,
        entries: Vec<SuppressionUpsert>,
        when_kept: WhenKept,
    ) -> Result<UpsertReport, StateError> {
        self.upsert(entries, when_kept, None)
    }

    fn upsert_from_events(
        &self,
        entries: Vec<SuppressionUpsert>,
        applied: AppliedBatch<'_>,
    ) -> Result<UpsertReport, StateError> {
        self.upsert(entries, WhenKept::Skip, Some(PackedBatch::from(applied)))
    }

    fn find_suppressions(
        &self,
        recipient: &str,
        scope: ListScope,
    ) -> Result<Vec<Suppression>, StateError> {
        let Some(find) = query::find(recipient, scope, Dialect::Postgres)? else {
            return Ok(Vec::new());
        };
        self.run(move |pool| async move {
            let client = pool.get().await?;
            select(&client, &find)
                .await?
                .iter()
                .map(|row| Ok(read_entry(row)?.entry))
                .collect()
        })
    }

    fn delete_suppressions(
        &self,
        deletion: &SuppressionDeletion,
    ) -> Result<DeleteOutcome, StateError> {
        let Some(deletion) = query::deletion(deletion, Dialect::Postgres)? else {
            return Ok(DeleteOutcome::NotFound);
        };
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            tx.batch_execute(LOCK).await?;
            let sources = select(&tx, &deletion.sources)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<Vec<String>, _>>()?;
            if let Some(refused) = query::refuse_deletion(&sources) {
                tx.rollback().await?;
                return Ok(refused);
            }
            let delete = tx.prepare_cached(&deletion.delete.sql).await?;
            let removed = tx.execute(&delete, &bind(&deletion.delete.args)).await?;
            tx.commit().await?;
            Ok(DeleteOutcome::Deleted(removed))
        })
    }

    fn search_suppressions(&self, query: &SuppressionQuery) -> Result<SuppressionPage, StateError> {
        let Some(search) = query::search(query, Dialect::Postgres)? else {
            return Ok(query::empty_page());
        };
        self.run(move |pool| async move {
            let client = pool.get().await?;
            // Both statements go out together (pipelined on the one connection).
            let (count, page) = futures::try_join!(
                select(&client, &search.count),
                select(&client, &search.page)
            )?;
            let total_count = match count.first() {
                Some(row) => row.try_get(0)?,
                None => 0,
            };
            let stored = page.iter().map(read_entry).collect::<Result<_, _>>()?;
            Ok(query::page(stored, search.limit, total_count))
        })
    }

    fn suppression_summary(&self, scope: ListScope) -> Result<SuppressionSummary, StateError> {
        let counts = query::source_counts(scope, Dialect::Postgres)?;
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let mut summary = SuppressionSummary::default();
            for row in select(&client, &counts).await? {
                let source = query::parse_source(row.try_get(0)?)?;
                query::add_count(&mut summary, source, row.try_get(1)?)?;
            }
            Ok(summary)
        })
    }

    fn suppression_subaccounts(&self) -> Result<Vec<u64>, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let statement = client.prepare_cached(query::SUBACCOUNTS).await?;
            client
                .query(&statement, &[])
                .await?
                .iter()
                .map(|row| query::subaccount_id(row.try_get(0)?))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suppressions::{SuppressionSource, SuppressionType, UpsertOutcome};
    use crate::testing::TestDatabase;
    use crate::PostgresOptions;

    #[test]
    fn concurrent_writers_create_each_entry_once() {
        let db = TestDatabase::create();
        let stores: Vec<PostgresState> = (0..4)
            .map(|_| PostgresState::open(db.url(), &PostgresOptions::default()).unwrap())
            .collect();
        let entries = || -> Vec<SuppressionUpsert> {
            (0..200)
                .map(|i| SuppressionUpsert {
                    recipient: format!("r{i}@example.com"),
                    suppression_type: SuppressionType::Transactional,
                    source: SuppressionSource::ManuallyAdded,
                    description: None,
                    list_id: None,
                    subaccount: None,
                    occurred_at: 1,
                })
                .collect()
        };
        let outcomes: Vec<UpsertOutcome> = std::thread::scope(|scope| {
            let workers: Vec<_> = stores
                .iter()
                .map(|store| {
                    scope.spawn(move || store.upsert_suppressions(entries(), WhenKept::Skip))
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().unwrap().unwrap().outcomes)
                .collect()
        });
        let created = outcomes
            .iter()
            .filter(|outcome| **outcome == UpsertOutcome::Created)
            .count();
        assert_eq!((created, outcomes.len()), (200, 800));
        let summary = stores[0].suppression_summary(ListScope::All).unwrap();
        assert_eq!(summary.total(), 200);
    }
}
