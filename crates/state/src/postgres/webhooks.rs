//! [`WebhookStore`] on PostgreSQL, in the stored form of [`crate::webhooks::stored`].
//!
//! Every change to a webhook's configuration (create, update, delete, rotation, deactivation)
//! notifies [`WEBHOOK_CHANGES`] in its transaction; delivery marks and batch records do not.
//! Secrets are sealed and opened on the caller's thread, except where a transaction reads,
//! changes and writes a webhook back ([`PostgresState::modify_webhook`]).

use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{PostgresState, WEBHOOK_CHANGES};
use crate::crypto::Sealer;
use crate::webhooks::stored::{
    claim_times, latency_column, latency_from_column, limit_parameter, new_record, oldest_first,
    owner_range, rotate_secret, StoredWebhook,
};
use crate::webhooks::{
    BatchStatus, NewWebhook, Webhook, WebhookChanges, WebhookOwner, WebhookStore,
};
use crate::{unix_now, StateError};

/// The columns of a webhook, in [`read_webhook`]'s and [`write_webhook`]'s order.
const COLUMNS: &str = "id, name, target, events, active, auth_type, auth_username, auth_url, \
     subaccount, exception_subaccounts, secrets, last_successful, last_failure, created_at, \
     updated_at";

/// The first key of the advisory lock [`WebhookStore::create_webhook_within`] takes for an
/// owner ("whok" in ASCII); the second is the owner's.
const OWNER_LOCK: i32 = 0x7768_6f6b;

/// A `webhooks` row selected with [`COLUMNS`].
fn read_webhook(row: &Row) -> Result<StoredWebhook, StateError> {
    Ok(StoredWebhook {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        target: row.try_get("target")?,
        events: row.try_get("events")?,
        active: row.try_get("active")?,
        auth_type: row.try_get("auth_type")?,
        auth_username: row.try_get("auth_username")?,
        auth_url: row.try_get("auth_url")?,
        subaccount: row.try_get("subaccount")?,
        exception_subaccounts: row.try_get("exception_subaccounts")?,
        secrets: row.try_get("secrets")?,
        last_successful: row.try_get("last_successful")?,
        last_failure: row.try_get("last_failure")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Opens a stored webhook: custom headers are always sealed on PostgreSQL.
fn open(stored: StoredWebhook, sealer: &Sealer) -> Result<Webhook, StateError> {
    stored.open(sealer, || {
        Err(StateError::Corrupt(
            "webhook secrets without custom headers".into(),
        ))
    })
}

/// Inserts `row`, or updates every column of the webhook with its id (which keeps its place
/// in the creation order).
async fn write_webhook(client: &impl GenericClient, row: &StoredWebhook) -> Result<(), StateError> {
    let upsert = client
        .prepare_cached(&format!(
            "INSERT INTO webhooks ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, target = EXCLUDED.target,
                 events = EXCLUDED.events, active = EXCLUDED.active,
                 auth_type = EXCLUDED.auth_type, auth_username = EXCLUDED.auth_username,
                 auth_url = EXCLUDED.auth_url, subaccount = EXCLUDED.subaccount,
                 exception_subaccounts = EXCLUDED.exception_subaccounts,
                 secrets = EXCLUDED.secrets, last_successful = EXCLUDED.last_successful,
                 last_failure = EXCLUDED.last_failure, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at"
        ))
        .await?;
    client
        .execute(
            &upsert,
            &[
                &row.id,
                &row.name,
                &row.target,
                &row.events,
                &row.active,
                &row.auth_type,
                &row.auth_username,
                &row.auth_url,
                &row.subaccount,
                &row.exception_subaccounts,
                &row.secrets,
                &row.last_successful,
                &row.last_failure,
                &row.created_at,
                &row.updated_at,
            ],
        )
        .await?;
    Ok(())
}

/// Notifies [`WEBHOOK_CHANGES`]; delivered when (and if) `tx` commits.
async fn notify(tx: &Transaction<'_>) -> Result<(), StateError> {
    let notify = tx.prepare_cached("SELECT pg_notify($1, '')").await?;
    tx.execute(&notify, &[&WEBHOOK_CHANGES]).await?;
    Ok(())
}

/// How many webhooks have a `subaccount` in `range` (see [`owner_range`]).
async fn count_owned(
    client: &impl GenericClient,
    (low, high): (i64, i64),
) -> Result<usize, StateError> {
    let count = client
        .prepare_cached("SELECT COUNT(*) FROM webhooks WHERE subaccount BETWEEN $1 AND $2")
        .await?;
    let count: i64 = client.query_one(&count, &[&low, &high]).await?.try_get(0)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// The second key of `owner`'s [`OWNER_LOCK`]: its `subaccount` column value (ids past the
/// column's range, which no webhook can have, share one key).
fn owner_lock_key(owner: WebhookOwner) -> i32 {
    i32::try_from(owner_range(Some(owner)).0).unwrap_or(i32::MIN)
}

/// A `webhook_batches` row; its integers back in the types of [`BatchStatus`].
fn read_batch(row: &Row) -> Result<BatchStatus, StateError> {
    let corrupt = |column: &str, e: std::num::TryFromIntError| {
        StateError::Corrupt(format!("webhook batch {column}: {e}"))
    };
    let response_code: Option<i32> = row.try_get("response_code")?;
    Ok(BatchStatus {
        batch_id: row.try_get("batch_id")?,
        webhook_id: row.try_get("webhook_id")?,
        ts: row.try_get("ts")?,
        attempts: u32::try_from(row.try_get::<_, i32>("attempts")?)
            .map_err(|e| corrupt("attempts", e))?,
        response_code: response_code
            .map(u16::try_from)
            .transpose()
            .map_err(|e| corrupt("response_code", e))?,
        failure_code: row.try_get("failure_code")?,
        batch_size: u32::try_from(row.try_get::<_, i32>("batch_size")?)
            .map_err(|e| corrupt("batch_size", e))?,
        latency_ms: latency_from_column(row.try_get("latency_ms")?),
    })
}

/// A statement parameter, owned so that it can go to the store's runtime.
type Param = Box<dyn ToSql + Send + Sync>;

/// `params` as a statement takes them.
fn bind(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| -> &(dyn ToSql + Sync) { param.as_ref() })
        .collect()
}

impl PostgresState {
    /// Stores the sealed `row`, and notifies the change, in one transaction; with `limit`,
    /// only if the owner has fewer webhooks (counted under the owner's advisory lock, so that
    /// concurrent creations in any process cannot pass it together). Returns whether it
    /// stored the row.
    fn insert_webhook(
        &self,
        row: StoredWebhook,
        owner: WebhookOwner,
        limit: Option<usize>,
    ) -> Result<bool, StateError> {
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            if let Some(limit) = limit {
                let lock = tx
                    .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
                    .await?;
                tx.execute(&lock, &[&OWNER_LOCK, &owner_lock_key(owner)])
                    .await?;
                if count_owned(&tx, owner_range(Some(owner))).await? >= limit {
                    return Ok(false);
                }
            }
            write_webhook(&tx, &row).await?;
            notify(&tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Reads, changes and writes back one webhook in a transaction, the row locked
    /// (`FOR UPDATE`) in between, and notifies the change; `None` if it is missing.
    fn modify_webhook<T: Send + 'static>(
        &self,
        id: &str,
        change: impl FnOnce(&mut Webhook) -> T + Send + 'static,
    ) -> Result<Option<(Webhook, T)>, StateError> {
        let (sealer, id) = (self.sealer()?.clone(), id.to_owned());
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let select = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhooks WHERE id = $1 FOR UPDATE"
                ))
                .await?;
            let Some(row) = tx.query_opt(&select, &[&id]).await? else {
                return Ok(None);
            };
            let mut webhook = open(read_webhook(&row)?, &sealer)?;
            let outcome = change(&mut webhook);
            webhook.updated_at = unix_now();
            write_webhook(&tx, &StoredWebhook::seal(&webhook, &sealer)?).await?;
            notify(&tx).await?;
            tx.commit().await?;
            Ok(Some((webhook, outcome)))
        })
    }

    /// Runs one statement with `params`; returns how many rows it changed.
    fn run_webhook_statement(
        &self,
        statement: &'static str,
        params: Vec<Param>,
    ) -> Result<u64, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let statement = client.prepare_cached(statement).await?;
            Ok(client.execute(&statement, &bind(&params)).await?)
        })
    }

    /// Runs `statements` with `params` in one transaction, which notifies the change if the
    /// last statement changed a row; returns whether it did.
    fn change_webhook(
        &self,
        statements: &'static [&'static str],
        params: Vec<Param>,
    ) -> Result<bool, StateError> {
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let mut changed = 0;
            for statement in statements {
                let statement = tx.prepare_cached(statement).await?;
                changed = tx.execute(&statement, &bind(&params)).await?;
            }
            if changed > 0 {
                notify(&tx).await?;
            }
            tx.commit().await?;
            Ok(changed > 0)
        })
    }

    /// The kept failed batches `select` returns with `params`: (webhook id, batch id,
    /// payload).
    fn select_failed_batches(
        &self,
        select: &'static str,
        params: Vec<Param>,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client.prepare_cached(select).await?;
            client
                .query(&select, &bind(&params))
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                .collect()
        })
    }
}

impl WebhookStore for PostgresState {
    fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StateError> {
        let webhook = new_record(new);
        let row = StoredWebhook::seal(&webhook, self.sealer()?)?;
        self.insert_webhook(row, webhook.scope.owner(), None)?;
        Ok(webhook)
    }

    fn create_webhook_within(
        &self,
        new: NewWebhook,
        limit: usize,
    ) -> Result<Option<Webhook>, StateError> {
        let webhook = new_record(new);
        let row = StoredWebhook::seal(&webhook, self.sealer()?)?;
        let stored = self.insert_webhook(row, webhook.scope.owner(), Some(limit))?;
        Ok(stored.then_some(webhook))
    }

    fn count_webhooks(&self, owner: WebhookOwner) -> Result<usize, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            count_owned(&client, owner_range(Some(owner))).await
        })
    }

    fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let id = id.to_owned();
        let row = self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
                .await?;
            client
                .query_opt(&select, &[&id])
                .await?
                .as_ref()
                .map(read_webhook)
                .transpose()
        })?;
        row.map(|row| open(row, sealer)).transpose()
    }

    fn list_webhooks(&self, owner: Option<WebhookOwner>) -> Result<Vec<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let (low, high) = owner_range(owner);
        let rows = self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhooks WHERE subaccount BETWEEN $1 AND $2
                     ORDER BY created_at, seq"
                ))
                .await?;
            client
                .query(&select, &[&low, &high])
                .await?
                .iter()
                .map(read_webhook)
                .collect::<Result<Vec<_>, _>>()
        })?;
        rows.into_iter().map(|row| open(row, sealer)).collect()
    }

    fn update_webhook(
        &self,
        id: &str,
        changes: WebhookChanges,
    ) -> Result<Option<Webhook>, StateError> {
        let changed = self.modify_webhook(id, |webhook| changes.apply_to(webhook))?;
        Ok(changed.map(|(webhook, ())| webhook))
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.change_webhook(
            &[
                "DELETE FROM webhook_batches WHERE webhook_id = $1",
                "DELETE FROM webhook_failed_batches WHERE webhook_id = $1",
                "DELETE FROM webhooks WHERE id = $1",
            ],
            vec![Box::new(id.to_owned())],
        )
    }

    fn rotate_signing_secret(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<Option<String>, StateError> {
        let rotated = self.modify_webhook(id, move |webhook| rotate_secret(webhook, grace))?;
        Ok(rotated.map(|(_, secret)| secret))
    }

    fn record_batch_status(&self, status: &BatchStatus) -> Result<(), StateError> {
        let invalid = |column: &str, e: std::num::TryFromIntError| {
            StateError::Invalid(format!("batch {column}: {e}"))
        };
        let attempts = i32::try_from(status.attempts).map_err(|e| invalid("attempts", e))?;
        let batch_size = i32::try_from(status.batch_size).map_err(|e| invalid("batch_size", e))?;
        // A record replacing another takes a new `seq`: of batches created in the same second,
        // the one recorded last is listed first.
        self.run_webhook_statement(
            "INSERT INTO webhook_batches (webhook_id, batch_id, ts, attempts, response_code,
                 failure_code, batch_size, latency_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (webhook_id, batch_id) DO UPDATE SET seq = DEFAULT, ts = EXCLUDED.ts,
                 attempts = EXCLUDED.attempts, response_code = EXCLUDED.response_code,
                 failure_code = EXCLUDED.failure_code, batch_size = EXCLUDED.batch_size,
                 latency_ms = EXCLUDED.latency_ms",
            vec![
                Box::new(status.webhook_id.clone()),
                Box::new(status.batch_id.clone()),
                Box::new(status.ts),
                Box::new(attempts),
                Box::new(status.response_code.map(i32::from)),
                Box::new(status.failure_code.clone()),
                Box::new(batch_size),
                Box::new(latency_column(status.latency_ms)),
            ],
        )?;
        Ok(())
    }

    fn batch_statuses(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<BatchStatus>, StateError> {
        let webhook_id = webhook_id.to_owned();
        let limit = limit_parameter(limit);
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(
                    "SELECT webhook_id, batch_id, ts, attempts, response_code, failure_code,
                         batch_size, latency_ms
                     FROM webhook_batches WHERE webhook_id = $1
                     ORDER BY ts DESC, seq DESC LIMIT $2",
                )
                .await?;
            client
                .query(&select, &[&webhook_id, &limit])
                .await?
                .iter()
                .map(read_batch)
                .collect()
        })
    }

    fn prune_batch_statuses(&self, older_than: i64) -> Result<u64, StateError> {
        let removed = self.run_webhook_statement(
            "DELETE FROM webhook_batches WHERE ts < $1",
            vec![Box::new(older_than)],
        )?;
        self.run_webhook_statement(
            "DELETE FROM webhook_failed_batches WHERE failed_at < $1",
            vec![Box::new(older_than)],
        )?;
        Ok(removed)
    }

    fn mark_delivery(&self, id: &str, success: bool, at: i64) -> Result<bool, StateError> {
        let update = if success {
            "UPDATE webhooks SET last_successful = $2 WHERE id = $1"
        } else {
            "UPDATE webhooks SET last_failure = $2 WHERE id = $1"
        };
        Ok(self.run_webhook_statement(update, vec![Box::new(id.to_owned()), Box::new(at)])? > 0)
    }

    fn deactivate_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.change_webhook(
            &["UPDATE webhooks SET active = FALSE, updated_at = $2 WHERE id = $1"],
            vec![Box::new(id.to_owned()), Box::new(unix_now())],
        )
    }

    fn keep_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
        at: i64,
    ) -> Result<(), StateError> {
        // A batch kept again replaces the one kept before, replay request included.
        self.run_webhook_statement(
            "INSERT INTO webhook_failed_batches (webhook_id, batch_id, payload, failed_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (webhook_id, batch_id) DO UPDATE SET payload = EXCLUDED.payload,
                 failed_at = EXCLUDED.failed_at, replay_requested = FALSE,
                 replay_claimed_at = NULL",
            vec![
                Box::new(webhook_id.to_owned()),
                Box::new(batch_id.to_owned()),
                Box::new(payload.to_vec()),
                Box::new(at),
            ],
        )?;
        Ok(())
    }

    fn request_replay(&self, webhook_id: &str, batch_id: &str) -> Result<bool, StateError> {
        let changed = self.run_webhook_statement(
            "UPDATE webhook_failed_batches SET replay_requested = TRUE, replay_claimed_at = NULL
             WHERE webhook_id = $1 AND batch_id = $2",
            vec![
                Box::new(webhook_id.to_owned()),
                Box::new(batch_id.to_owned()),
            ],
        )?;
        Ok(changed > 0)
    }

    fn claim_replays(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        let (now, cutoff) = claim_times(lease);
        let limit = limit_parameter(limit);
        let claimed = self.run(move |pool| async move {
            let client = pool.get().await?;
            // SKIP LOCKED: a batch another worker is claiming right now is left to it.
            let claim = client
                .prepare_cached(
                    "UPDATE webhook_failed_batches f SET replay_claimed_at = $1
                     FROM (SELECT webhook_id, batch_id FROM webhook_failed_batches
                           WHERE replay_requested
                               AND (replay_claimed_at IS NULL OR replay_claimed_at <= $2)
                           ORDER BY failed_at, webhook_id, batch_id LIMIT $3
                           FOR UPDATE SKIP LOCKED) c
                     WHERE f.webhook_id = c.webhook_id AND f.batch_id = c.batch_id
                     RETURNING f.failed_at, f.webhook_id, f.batch_id, f.payload",
                )
                .await?;
            client
                .query(&claim, &[&now, &cutoff, &limit])
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get(0)?,
                        row.try_get(1)?,
                        row.try_get(2)?,
                        row.try_get(3)?,
                    ))
                })
                .collect::<Result<Vec<_>, StateError>>()
        })?;
        Ok(oldest_first(claimed))
    }

    fn forget_failed_batch(&self, webhook_id: &str, batch_id: &str) -> Result<(), StateError> {
        self.run_webhook_statement(
            "DELETE FROM webhook_failed_batches WHERE webhook_id = $1 AND batch_id = $2",
            vec![
                Box::new(webhook_id.to_owned()),
                Box::new(batch_id.to_owned()),
            ],
        )?;
        Ok(())
    }

    fn failed_batches(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        let (webhook_id, batch_id) = after.unwrap_or(("", ""));
        // Both key columns are `COLLATE "C"`: the cursor compares byte-wise, as SQLite's.
        self.select_failed_batches(
            "SELECT webhook_id, batch_id, payload FROM webhook_failed_batches
             WHERE (webhook_id, batch_id) > ($1, $2)
             ORDER BY webhook_id, batch_id LIMIT $3",
            vec![
                Box::new(webhook_id.to_owned()),
                Box::new(batch_id.to_owned()),
                Box::new(limit_parameter(limit)),
            ],
        )
    }

    fn replace_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
    ) -> Result<bool, StateError> {
        let changed = self.run_webhook_statement(
            "UPDATE webhook_failed_batches SET payload = $3
             WHERE webhook_id = $1 AND batch_id = $2",
            vec![
                Box::new(webhook_id.to_owned()),
                Box::new(batch_id.to_owned()),
                Box::new(payload.to_vec()),
            ],
        )?;
        Ok(changed > 0)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::postgres::PostgresOptions;
    use crate::testing::TestDatabase;
    use crate::webhooks::testing::{new_webhook, store_every_kind_of_secret, CLEAR_USERNAME};
    use crate::webhooks::WebhookScope;
    use crate::EncryptionKey;

    fn open_store(db: &TestDatabase, key: &EncryptionKey) -> PostgresState {
        PostgresState::open_with_key(db.url(), &PostgresOptions::default(), key).unwrap()
    }

    #[test]
    fn secrets_are_not_stored_in_clear() {
        let db = TestDatabase::create();
        let state = open_store(&db, &EncryptionKey::generate());
        let secrets = store_every_kind_of_secret(&state);
        // Every column as text, and the sealed secrets with their printable bytes as they are.
        let rows: Vec<String> = state
            .run(|pool| async move {
                let client = pool.get().await?;
                let rows = client
                    .query(
                        "SELECT w::text || encode(w.secrets, 'escape') FROM webhooks w",
                        &[],
                    )
                    .await?;
                Ok(rows.iter().map(|row| row.get(0)).collect())
            })
            .unwrap();
        let stored = rows.concat();
        assert!(
            stored.contains(CLEAR_USERNAME),
            "the user name is stored, and the scan works"
        );
        for secret in &secrets {
            assert!(
                !stored.contains(secret.as_str()),
                "{secret} is stored in clear"
            );
        }
    }

    #[test]
    fn webhook_changes_reach_the_other_stores() {
        let db = TestDatabase::create();
        let key = EncryptionKey::generate();
        let writer = open_store(&db, &key);
        let watcher = open_store(&db, &key);
        let mut changes = watcher.webhook_changes();
        crate::postgres::listener::tests::wait_for_listeners(&writer, 2);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut reached = |change: &str| {
            let changed = runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), changes.changed()).await
            });
            changed
                .unwrap_or_else(|_| panic!("{change} did not reach the other store"))
                .unwrap();
        };

        let hook = writer
            .create_webhook(new_webhook("n", WebhookScope::All))
            .unwrap();
        reached("a creation");
        writer
            .create_webhook_within(new_webhook("n2", WebhookScope::All), 10)
            .unwrap()
            .unwrap();
        reached("a creation within a limit");
        let renamed = WebhookChanges {
            name: Some("n3".into()),
            ..WebhookChanges::default()
        };
        writer.update_webhook(&hook.id, renamed).unwrap().unwrap();
        reached("an update");
        writer
            .rotate_signing_secret(&hook.id, Duration::from_secs(60))
            .unwrap()
            .unwrap();
        reached("a rotation");
        assert!(writer.deactivate_webhook(&hook.id).unwrap());
        reached("a deactivation");
        assert!(writer.delete_webhook(&hook.id).unwrap());
        reached("a deletion");
        assert_eq!(watcher.list_webhooks(None).unwrap().len(), 1);
    }
}
