//! [`WebhookStore`] on SQLite. Non-secret fields are plain columns (JSON text for lists);
//! the secrets of a webhook (passwords, OAuth2 request bodies, signing secrets, the deprecated
//! `auth_token` and custom headers, which often carry tokens) are one JSON document sealed
//! into the `secrets` column, bound to the webhook's id.
//!
//! The `custom_headers` column held the headers in clear before they were sealed; it now holds
//! `[]`. Rows written before are sealed the next time the store is opened with its key
//! ([`seal_clear_custom_headers`]).

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::SqliteState;
use crate::crypto::Sealer;
use crate::unix_now;
use crate::webhooks::{
    generate_signing_secret, BatchStatus, NewWebhook, RetiredSecret, SigningSecrets, Webhook,
    WebhookAuth, WebhookChanges, WebhookOwner, WebhookScope, WebhookStore,
};
use crate::StateError;

/// What the `secrets` column holds, before sealing.
#[derive(Serialize, Deserialize)]
struct SealedSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    basic_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth2_body: Option<serde_json::Map<String, serde_json::Value>>,
    signing: SigningSecrets,
    /// `None` in rows written before custom headers were sealed (they are in the column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_headers: Option<Vec<(String, String)>>,
    /// SparkPost's deprecated `auth_token`; absent in rows written before it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_token: Option<String>,
}

/// The `state_meta` row migration 5 leaves behind until every row written before it has its
/// custom headers sealed.
pub(super) const SEAL_HEADERS_PENDING: &str = "seal_custom_headers";

/// What the `custom_headers` column holds now that the headers are sealed.
const NO_CLEAR_HEADERS: &str = "[]";

/// A `webhooks` row as stored, secrets still sealed.
struct StoredRow {
    id: String,
    name: String,
    target: String,
    events: String,
    active: bool,
    auth_type: String,
    auth_username: Option<String>,
    auth_url: Option<String>,
    custom_headers: String,
    subaccount: i64,
    exception_subaccounts: String,
    secrets: Vec<u8>,
    last_successful: Option<i64>,
    last_failure: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl StoredRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            name: row.get("name")?,
            target: row.get("target")?,
            events: row.get("events")?,
            active: row.get("active")?,
            auth_type: row.get("auth_type")?,
            auth_username: row.get("auth_username")?,
            auth_url: row.get("auth_url")?,
            custom_headers: row.get("custom_headers")?,
            subaccount: row.get("subaccount")?,
            exception_subaccounts: row.get("exception_subaccounts")?,
            secrets: row.get("secrets")?,
            last_successful: row.get("last_successful")?,
            last_failure: row.get("last_failure")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }

    fn open(self, sealer: &Sealer) -> Result<Webhook, StateError> {
        let secrets: SealedSecrets =
            serde_json::from_slice(&sealer.open(&self.secrets, self.id.as_bytes())?)
                .map_err(corrupt)?;
        let auth = match self.auth_type.as_str() {
            "none" => WebhookAuth::None,
            "basic" => WebhookAuth::Basic {
                username: self.auth_username.unwrap_or_default(),
                password: secrets.basic_password.unwrap_or_default(),
            },
            "oauth2" => WebhookAuth::OAuth2 {
                url: self.auth_url.unwrap_or_default(),
                body: secrets.oauth2_body.unwrap_or_default(),
            },
            other => return Err(StateError::Corrupt(format!("auth_type `{other}`"))),
        };
        Ok(Webhook {
            scope: WebhookScope::from_subaccount_id(self.subaccount)
                .ok_or_else(|| StateError::Corrupt(format!("subaccount {}", self.subaccount)))?,
            events: serde_json::from_str(&self.events).map_err(corrupt)?,
            custom_headers: match secrets.custom_headers {
                Some(sealed) => sealed,
                None => serde_json::from_str(&self.custom_headers).map_err(corrupt)?,
            },
            exception_subaccounts: serde_json::from_str(&self.exception_subaccounts)
                .map_err(corrupt)?,
            auth_token: secrets.auth_token,
            id: self.id,
            name: self.name,
            target: self.target,
            active: self.active,
            auth,
            signing: secrets.signing,
            last_successful: self.last_successful,
            last_failure: self.last_failure,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn corrupt(e: serde_json::Error) -> StateError {
    StateError::Corrupt(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(corrupt)
}

/// Writes every column of `webhook` (insert or full replace), sealing its secrets.
fn write(conn: &Connection, sealer: &Sealer, webhook: &Webhook) -> Result<(), StateError> {
    let (username, url, password, body) = match &webhook.auth {
        WebhookAuth::None => (None, None, None, None),
        WebhookAuth::Basic { username, password } => {
            (Some(username), None, Some(password.clone()), None)
        }
        WebhookAuth::OAuth2 { url, body } => (None, Some(url), None, Some(body.clone())),
    };
    let secrets = SealedSecrets {
        basic_password: password,
        oauth2_body: body,
        signing: webhook.signing.clone(),
        custom_headers: Some(webhook.custom_headers.clone()),
        auth_token: webhook.auth_token.clone(),
    };
    let sealed = sealer.seal(to_json(&secrets)?.as_bytes(), webhook.id.as_bytes())?;
    conn.execute(
        "INSERT OR REPLACE INTO webhooks (id, name, target, events, active, auth_type,
             auth_username, auth_url, custom_headers, subaccount, exception_subaccounts,
             secrets, last_successful, last_failure, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            webhook.id,
            webhook.name,
            webhook.target,
            to_json(&webhook.events)?,
            webhook.active,
            webhook.auth.auth_type(),
            username,
            url,
            NO_CLEAR_HEADERS,
            webhook.scope.subaccount_id(),
            to_json(&webhook.exception_subaccounts)?,
            sealed,
            webhook.last_successful,
            webhook.last_failure,
            webhook.created_at,
            webhook.updated_at,
        ],
    )?;
    Ok(())
}

/// Seals the custom headers that rows written before migration 5 hold in clear, once: runs
/// while the migration's marker is in `state_meta`, and removes it. The old text is
/// overwritten (`secure_delete`) and the WAL checkpointed, so that it does not linger in the
/// files.
pub(super) fn seal_clear_custom_headers(
    conn: &Connection,
    sealer: &Sealer,
) -> Result<(), StateError> {
    let pending: i64 = conn.query_row(
        "SELECT COUNT(*) FROM state_meta WHERE name = ?1",
        params![SEAL_HEADERS_PENDING],
        |row| row.get(0),
    )?;
    if pending == 0 {
        return Ok(());
    }
    let secure_delete: i64 = conn.pragma_query_value(None, "secure_delete", |row| row.get(0))?;
    conn.pragma_update(None, "secure_delete", 1)?;
    let resealed = reseal_clear_headers(conn, sealer);
    conn.pragma_update(None, "secure_delete", secure_delete)?;
    if resealed? > 0 {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Rewrites every row whose `custom_headers` column is not empty (which seals the headers),
/// and drops the marker, in one transaction; returns how many rows were rewritten.
fn reseal_clear_headers(conn: &Connection, sealer: &Sealer) -> Result<usize, StateError> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let mut statement = tx.prepare("SELECT id FROM webhooks WHERE custom_headers <> ?1")?;
    let ids = statement
        .query_map(params![NO_CLEAR_HEADERS], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(statement);
    for id in &ids {
        if let Some(webhook) = read_one(&tx, sealer, id)? {
            write(&tx, sealer, &webhook)?;
        }
    }
    tx.execute(
        "DELETE FROM state_meta WHERE name = ?1",
        params![SEAL_HEADERS_PENDING],
    )?;
    tx.commit()?;
    Ok(ids.len())
}

fn read_one(conn: &Connection, sealer: &Sealer, id: &str) -> Result<Option<Webhook>, StateError> {
    conn.query_row(
        "SELECT * FROM webhooks WHERE id = ?1",
        params![id],
        StoredRow::read,
    )
    .optional()?
    .map(|row| row.open(sealer))
    .transpose()
}

/// Reads, changes and writes back one webhook inside a transaction; `None` if it is missing.
fn modify<T>(
    conn: &Connection,
    sealer: &Sealer,
    id: &str,
    change: impl FnOnce(&mut Webhook) -> T,
) -> Result<Option<(Webhook, T)>, StateError> {
    let tx = conn.unchecked_transaction()?;
    let Some(mut webhook) = read_one(&tx, sealer, id)? else {
        return Ok(None);
    };
    let outcome = change(&mut webhook);
    webhook.updated_at = unix_now();
    write(&tx, sealer, &webhook)?;
    tx.commit()?;
    Ok(Some((webhook, outcome)))
}

fn read_batch(row: &Row<'_>) -> rusqlite::Result<BatchStatus> {
    Ok(BatchStatus {
        batch_id: row.get("batch_id")?,
        webhook_id: row.get("webhook_id")?,
        ts: row.get("ts")?,
        attempts: row.get("attempts")?,
        response_code: row.get("response_code")?,
        failure_code: row.get("failure_code")?,
        batch_size: row.get("batch_size")?,
        latency_ms: row.get::<_, i64>("latency_ms")?.max(0) as u64,
    })
}

/// The subaccount column range of `owner`'s webhooks (the primary account owns scopes -1
/// and 0), or of every webhook.
fn owner_range(owner: Option<WebhookOwner>) -> (i64, i64) {
    match owner {
        None => (i64::MIN, i64::MAX),
        Some(WebhookOwner::Primary) => (-1, 0),
        Some(WebhookOwner::Subaccount(n)) => (n as i64, n as i64),
    }
}

fn count_owned(conn: &Connection, owner: WebhookOwner) -> Result<usize, StateError> {
    let (low, high) = owner_range(Some(owner));
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM webhooks WHERE subaccount BETWEEN ?1 AND ?2",
        params![low, high],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// A new webhook as it will be stored: fresh id and signing secret, times now.
fn new_record(new: NewWebhook) -> Webhook {
    let at = unix_now();
    Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        name: new.name,
        target: new.target,
        events: new.events,
        active: new.active,
        auth: new.auth,
        custom_headers: new.custom_headers,
        auth_token: new.auth_token,
        scope: new.scope,
        exception_subaccounts: new.exception_subaccounts,
        signing: SigningSecrets {
            current: generate_signing_secret(),
            previous: None,
        },
        last_successful: None,
        last_failure: None,
        created_at: at,
        updated_at: at,
    }
}

impl WebhookStore for SqliteState {
    fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StateError> {
        let sealer = self.sealer()?;
        let webhook = new_record(new);
        self.with(|conn| write(conn, sealer, &webhook))?;
        Ok(webhook)
    }

    fn create_webhook_within(
        &self,
        new: NewWebhook,
        limit: usize,
    ) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let owner = new.scope.owner();
        let webhook = new_record(new);
        self.with(|conn| {
            // Immediate: the count holds until the insert commits, in other processes too.
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            if count_owned(&tx, owner)? >= limit {
                return Ok(None);
            }
            write(&tx, sealer, &webhook)?;
            tx.commit()?;
            Ok(Some(webhook))
        })
    }

    fn count_webhooks(&self, owner: WebhookOwner) -> Result<usize, StateError> {
        self.with(|conn| count_owned(conn, owner))
    }

    fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        self.with(|conn| read_one(conn, sealer, id))
    }

    fn list_webhooks(&self, owner: Option<WebhookOwner>) -> Result<Vec<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let (low, high) = owner_range(owner);
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT * FROM webhooks WHERE subaccount BETWEEN ?1 AND ?2
                 ORDER BY created_at, rowid",
            )?;
            let rows = stmt
                .query_map(params![low, high], StoredRow::read)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|row| row.open(sealer)).collect()
        })
    }

    fn update_webhook(
        &self,
        id: &str,
        changes: WebhookChanges,
    ) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let changed =
            self.with(|conn| modify(conn, sealer, id, |webhook| changes.apply_to(webhook)))?;
        Ok(changed.map(|(webhook, ())| webhook))
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "DELETE FROM webhook_batches WHERE webhook_id = ?1",
                params![id],
            )?;
            tx.execute(
                "DELETE FROM webhook_failed_batches WHERE webhook_id = ?1",
                params![id],
            )?;
            let deleted = tx.execute("DELETE FROM webhooks WHERE id = ?1", params![id])?;
            tx.commit()?;
            Ok(deleted > 0)
        })
    }

    fn rotate_signing_secret(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<Option<String>, StateError> {
        let sealer = self.sealer()?;
        let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        let rotated = self.with(|conn| {
            modify(conn, sealer, id, |webhook| {
                let fresh = generate_signing_secret();
                let old = std::mem::replace(&mut webhook.signing.current, fresh.clone());
                webhook.signing.previous = Some(RetiredSecret {
                    secret: old,
                    expires_at: unix_now().saturating_add(grace),
                });
                fresh
            })
        })?;
        Ok(rotated.map(|(_, secret)| secret))
    }

    fn record_batch_status(&self, status: &BatchStatus) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO webhook_batches (webhook_id, batch_id, ts, attempts,
                     response_code, failure_code, batch_size, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    status.webhook_id,
                    status.batch_id,
                    status.ts,
                    status.attempts,
                    status.response_code,
                    status.failure_code,
                    status.batch_size,
                    i64::try_from(status.latency_ms).unwrap_or(i64::MAX),
                ],
            )?;
            Ok(())
        })
    }

    fn batch_statuses(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<BatchStatus>, StateError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT * FROM webhook_batches WHERE webhook_id = ?1
                 ORDER BY ts DESC, rowid DESC LIMIT ?2",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let statuses = stmt
                .query_map(params![webhook_id, limit], read_batch)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(statuses)
        })
    }

    fn prune_batch_statuses(&self, older_than: i64) -> Result<u64, StateError> {
        self.with(|conn| {
            let removed = conn.execute(
                "DELETE FROM webhook_batches WHERE ts < ?1",
                params![older_than],
            )?;
            conn.execute(
                "DELETE FROM webhook_failed_batches WHERE failed_at < ?1",
                params![older_than],
            )?;
            Ok(removed as u64)
        })
    }

    fn mark_delivery(&self, id: &str, success: bool, at: i64) -> Result<bool, StateError> {
        let column = if success {
            "last_successful"
        } else {
            "last_failure"
        };
        self.with(|conn| {
            let changed = conn.execute(
                &format!("UPDATE webhooks SET {column} = ?1 WHERE id = ?2"),
                params![at, id],
            )?;
            Ok(changed > 0)
        })
    }

    fn deactivate_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhooks SET active = 0, updated_at = ?1 WHERE id = ?2",
                params![unix_now(), id],
            )?;
            Ok(changed > 0)
        })
    }

    fn keep_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
        at: i64,
    ) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO webhook_failed_batches (webhook_id, batch_id, payload, failed_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![webhook_id, batch_id, payload, at],
            )?;
            Ok(())
        })
    }

    fn request_replay(&self, webhook_id: &str, batch_id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhook_failed_batches SET replay_requested = 1
                 WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id],
            )?;
            Ok(changed > 0)
        })
    }

    fn requested_replays(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT webhook_id, batch_id, payload FROM webhook_failed_batches
                 WHERE replay_requested = 1 ORDER BY failed_at LIMIT ?1",
            )?;
            let rows = statement
                .query_map(params![limit as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn forget_failed_batch(&self, webhook_id: &str, batch_id: &str) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM webhook_failed_batches WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id],
            )?;
            Ok(())
        })
    }

    fn failed_batches(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        let (webhook_id, batch_id) = after.unwrap_or(("", ""));
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT webhook_id, batch_id, payload FROM webhook_failed_batches
                 WHERE (webhook_id, batch_id) > (?1, ?2)
                 ORDER BY webhook_id, batch_id LIMIT ?3",
            )?;
            let rows = statement
                .query_map(params![webhook_id, batch_id, limit as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn replace_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
    ) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhook_failed_batches SET payload = ?3
                 WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id, payload],
            )?;
            Ok(changed > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::EncryptionKey;

    fn store() -> (tempfile::TempDir, SqliteState) {
        let dir = tempfile::tempdir().unwrap();
        let state =
            SqliteState::open_with_key(dir.path().join("state.sqlite"), &EncryptionKey::generate())
                .unwrap();
        (dir, state)
    }

    fn new_webhook(name: &str, scope: WebhookScope) -> NewWebhook {
        NewWebhook {
            name: name.into(),
            target: "https://hooks.example.com/in".into(),
            events: vec!["delivery".into(), "bounce".into()],
            active: true,
            auth: WebhookAuth::None,
            custom_headers: vec![("x-b".into(), "2".into()), ("x-a".into(), "1".into())],
            auth_token: None,
            scope,
            exception_subaccounts: vec![],
        }
    }

    fn batch(webhook_id: &str, batch_id: &str, ts: i64) -> BatchStatus {
        BatchStatus {
            batch_id: batch_id.into(),
            webhook_id: webhook_id.into(),
            ts,
            attempts: 2,
            response_code: Some(200),
            failure_code: Some("503".into()),
            batch_size: 17,
            latency_ms: 42,
        }
    }

    #[test]
    fn create_get_update_delete_round_trip() {
        let (_dir, state) = store();
        let mut new = new_webhook("orders", WebhookScope::All);
        new.auth = WebhookAuth::OAuth2 {
            url: "https://auth.example.com/token".into(),
            body: serde_json::json!({"client_id": "c", "client_secret": "s"})
                .as_object()
                .unwrap()
                .clone(),
        };
        new.exception_subaccounts = vec![4, 9];
        let created = state.create_webhook(new.clone()).unwrap();
        assert!(uuid::Uuid::parse_str(&created.id).is_ok());
        assert!(created.signing.current.starts_with("whsec_"));
        assert_eq!(created.auth, new.auth);
        assert_eq!(created.custom_headers, new.custom_headers, "order kept");
        assert_eq!(
            state.get_webhook(&created.id).unwrap(),
            Some(created.clone())
        );

        let updated = state
            .update_webhook(
                &created.id,
                WebhookChanges {
                    name: Some("orders-2".into()),
                    active: Some(false),
                    auth: Some(WebhookAuth::Basic {
                        username: "u".into(),
                        password: "p".into(),
                    }),
                    scope: Some(WebhookScope::Subaccount(3)),
                    exception_subaccounts: Some(vec![]),
                    ..WebhookChanges::default()
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(updated.name, "orders-2");
        assert!(!updated.active);
        assert_eq!(updated.target, created.target, "untouched fields stay");
        assert_eq!(updated.events, created.events);
        assert_eq!(updated.signing, created.signing);
        assert_eq!(updated.scope, WebhookScope::Subaccount(3));
        assert_eq!(state.get_webhook(&created.id).unwrap(), Some(updated));

        let with_token = |token: Option<&str>| WebhookChanges {
            auth_token: Some(token.map(String::from)),
            ..WebhookChanges::default()
        };
        let tokened = state
            .update_webhook(&created.id, with_token(Some("5ebe2294")))
            .unwrap()
            .unwrap();
        assert_eq!(tokened.auth_token.as_deref(), Some("5ebe2294"));
        assert_eq!(state.get_webhook(&created.id).unwrap(), Some(tokened));
        let kept = state
            .update_webhook(&created.id, WebhookChanges::default())
            .unwrap()
            .unwrap();
        assert_eq!(kept.auth_token.as_deref(), Some("5ebe2294"), "kept");
        let cleared = state
            .update_webhook(&created.id, with_token(None))
            .unwrap()
            .unwrap();
        assert_eq!(cleared.auth_token, None);

        assert!(state
            .update_webhook("missing", WebhookChanges::default())
            .unwrap()
            .is_none());
        state
            .record_batch_status(&batch(&created.id, "b1", 10))
            .unwrap();
        assert!(state.delete_webhook(&created.id).unwrap());
        assert!(!state.delete_webhook(&created.id).unwrap());
        assert_eq!(state.get_webhook(&created.id).unwrap(), None);
        assert!(state.batch_statuses(&created.id, 10).unwrap().is_empty());
    }

    #[test]
    fn lists_by_owner() {
        let (_dir, state) = store();
        let all = state
            .create_webhook(new_webhook("all", WebhookScope::All))
            .unwrap();
        let primary = state
            .create_webhook(new_webhook("primary", WebhookScope::Primary))
            .unwrap();
        let sub3 = state
            .create_webhook(new_webhook("sub3", WebhookScope::Subaccount(3)))
            .unwrap();
        state
            .create_webhook(new_webhook("sub4", WebhookScope::Subaccount(4)))
            .unwrap();
        let names = |owner| {
            state
                .list_webhooks(owner)
                .unwrap()
                .into_iter()
                .map(|w| w.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(None), ["all", "primary", "sub3", "sub4"]);
        assert_eq!(names(Some(WebhookOwner::Primary)), [all.name, primary.name]);
        assert_eq!(names(Some(WebhookOwner::Subaccount(3))), [sub3.name]);
        assert!(names(Some(WebhookOwner::Subaccount(5))).is_empty());
    }

    #[test]
    fn create_within_limit_counts_per_owner() {
        let (_dir, state) = store();
        for (name, scope) in [
            ("all", WebhookScope::All),
            ("primary", WebhookScope::Primary),
        ] {
            assert!(state
                .create_webhook_within(new_webhook(name, scope), 2)
                .unwrap()
                .is_some());
        }
        assert_eq!(state.count_webhooks(WebhookOwner::Primary).unwrap(), 2);
        // The primary account owns both scopes, so a third of either is refused.
        for scope in [WebhookScope::All, WebhookScope::Primary] {
            assert!(state
                .create_webhook_within(new_webhook("over", scope), 2)
                .unwrap()
                .is_none());
        }
        assert_eq!(state.count_webhooks(WebhookOwner::Primary).unwrap(), 2);
        // A subaccount has its own count.
        let sub = WebhookScope::Subaccount(3);
        assert!(state
            .create_webhook_within(new_webhook("sub", sub), 1)
            .unwrap()
            .is_some());
        assert!(state
            .create_webhook_within(new_webhook("sub-2", sub), 1)
            .unwrap()
            .is_none());
        assert_eq!(
            state.count_webhooks(WebhookOwner::Subaccount(3)).unwrap(),
            1
        );
        assert_eq!(
            state.count_webhooks(WebhookOwner::Subaccount(4)).unwrap(),
            0
        );
        assert_eq!(state.list_webhooks(None).unwrap().len(), 3);
    }

    #[test]
    fn batch_statuses_newest_first_limited_and_pruned() {
        let (_dir, state) = store();
        let hook = state
            .create_webhook(new_webhook("b", WebhookScope::All))
            .unwrap();
        for (id, ts) in [("old", 100), ("mid", 200), ("new", 300), ("new-too", 300)] {
            state.record_batch_status(&batch(&hook.id, id, ts)).unwrap();
        }
        state
            .record_batch_status(&batch("other", "x", 400))
            .unwrap();
        let ids = |limit| {
            state
                .batch_statuses(&hook.id, limit)
                .unwrap()
                .into_iter()
                .map(|b| b.batch_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(10), ["new-too", "new", "mid", "old"]);
        assert_eq!(ids(2), ["new-too", "new"]);
        assert_eq!(
            state.batch_statuses(&hook.id, 1).unwrap()[0],
            batch(&hook.id, "new-too", 300)
        );

        // A later record of the same batch replaces the earlier one.
        let mut retried = batch(&hook.id, "mid", 200);
        retried.attempts = 5;
        retried.failure_code = None;
        state.record_batch_status(&retried).unwrap();
        let all = state.batch_statuses(&hook.id, 10).unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.contains(&retried));

        assert_eq!(state.prune_batch_statuses(250).unwrap(), 2);
        assert_eq!(ids(10), ["new-too", "new"]);
        assert_eq!(state.batch_statuses("other", 10).unwrap().len(), 1);
    }

    #[test]
    fn rotation_keeps_the_old_secret_until_it_expires() {
        let (_dir, state) = store();
        let hook = state
            .create_webhook(new_webhook("r", WebhookScope::All))
            .unwrap();
        let before = unix_now();
        let fresh = state
            .rotate_signing_secret(&hook.id, Duration::from_secs(3600))
            .unwrap()
            .unwrap();
        assert!(fresh.starts_with("whsec_"));
        assert_ne!(fresh, hook.signing.current);
        let stored = state.get_webhook(&hook.id).unwrap().unwrap();
        assert_eq!(stored.signing.current, fresh);
        let previous = stored.signing.previous.clone().unwrap();
        assert_eq!(previous.secret, hook.signing.current);
        assert!(previous.expires_at >= before + 3600);
        assert_eq!(
            stored.signing.valid_at(unix_now()),
            [fresh.as_str(), hook.signing.current.as_str()]
        );
        assert_eq!(
            stored.signing.valid_at(previous.expires_at),
            [fresh.as_str()]
        );
        assert!(state
            .rotate_signing_secret("missing", Duration::from_secs(1))
            .unwrap()
            .is_none());
    }

    #[test]
    fn delivery_marks_and_deactivation() {
        let (_dir, state) = store();
        let hook = state
            .create_webhook(new_webhook("d", WebhookScope::All))
            .unwrap();
        assert!(state.mark_delivery(&hook.id, true, 1_000).unwrap());
        assert!(state.mark_delivery(&hook.id, false, 2_000).unwrap());
        assert!(state.deactivate_webhook(&hook.id).unwrap());
        let stored = state.get_webhook(&hook.id).unwrap().unwrap();
        assert_eq!(stored.last_successful, Some(1_000));
        assert_eq!(stored.last_failure, Some(2_000));
        assert!(!stored.active);
        assert!(!state.mark_delivery("missing", true, 1).unwrap());
        assert!(!state.deactivate_webhook("missing").unwrap());
    }

    #[test]
    fn secrets_are_not_stored_in_clear() {
        let (dir, state) = store();
        let mut new = new_webhook("secret", WebhookScope::All);
        let header_token = "header-bearer-token-4711";
        new.custom_headers = vec![("X-Api-Key".into(), header_token.into())];
        let auth_token = "deprecated-webhook-token-0815";
        new.auth_token = Some(auth_token.into());
        let password = "correct-horse-battery-staple";
        new.auth = WebhookAuth::Basic {
            username: "alice".into(),
            password: password.into(),
        };
        let hook = state.create_webhook(new).unwrap();
        let mut oauth = new_webhook("oauth", WebhookScope::All);
        let client_secret = "oauth-client-secret-value-123";
        oauth.auth = WebhookAuth::OAuth2 {
            url: "https://auth.example.com/token".into(),
            body: serde_json::json!({"client_secret": client_secret})
                .as_object()
                .unwrap()
                .clone(),
        };
        state.create_webhook(oauth).unwrap();
        let rotated = state
            .rotate_signing_secret(&hook.id, Duration::from_secs(60))
            .unwrap()
            .unwrap();
        drop(state);
        let mut bytes = std::fs::read(dir.path().join("state.sqlite")).unwrap();
        bytes.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
        let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            contains("alice"),
            "the user name is stored, and the scan works"
        );
        for secret in [
            password,
            client_secret,
            header_token,
            auth_token,
            &hook.signing.current,
            &rotated,
        ] {
            assert!(!contains(secret), "{secret} is stored in clear");
        }
    }

    #[test]
    fn database_file_cannot_leak_custom_headers_written_before_they_were_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = EncryptionKey::generate();
        let token = "legacy-header-token-0815";
        let id = "3f6d9a7e-0000-4000-8000-000000000001";
        {
            // A database as the release before the sealing left it: four migrations, and a
            // webhook whose custom headers are in the clear column, not in the secrets.
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            super::super::migrate_to(&conn, 4).unwrap();
            let sealer = Sealer::new(&key);
            check_key_row(&conn, &sealer);
            let secrets = serde_json::json!({
                "signing": {"current": generate_signing_secret(), "previous": null}
            });
            let sealed = sealer
                .seal(secrets.to_string().as_bytes(), id.as_bytes())
                .unwrap();
            let clear = serde_json::json!([["X-Api-Key", token], ["X-Team", "mail"]]);
            conn.execute(
                "INSERT INTO webhooks (id, name, target, events, active, auth_type,
                     custom_headers, subaccount, exception_subaccounts, secrets,
                     created_at, updated_at)
                 VALUES (?1, 'old', 'https://x.example/', '[\"delivery\"]', 1, 'none',
                     ?2, -1, '[]', ?3, 1, 1)",
                params![id, clear.to_string(), sealed],
            )
            .unwrap();
        }
        let contains = |needle: &str| {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        };
        assert!(contains(token), "the legacy row holds the token in clear");

        // A keyless open (`eventhose keys …`) migrates the schema but cannot seal yet.
        drop(SqliteState::open(&path).unwrap());
        let state = SqliteState::open_with_key(&path, &key).unwrap();
        let hook = state.get_webhook(id).unwrap().unwrap();
        assert_eq!(
            hook.custom_headers,
            [
                ("X-Api-Key".to_string(), token.to_string()),
                ("X-Team".to_string(), "mail".to_string())
            ]
        );
        drop(state);
        assert!(!contains(token), "the token is still in the files in clear");

        // Done once: the marker is gone, and reopening changes nothing.
        let state = SqliteState::open_with_key(&path, &key).unwrap();
        let pending: i64 = state
            .with(|conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM state_meta WHERE name = ?1",
                    params![SEAL_HEADERS_PENDING],
                    |row| row.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(pending, 0);
        assert_eq!(state.get_webhook(id).unwrap(), Some(hook));
    }

    /// Stores the key check the way `open_with_key` does, for a database built by hand.
    fn check_key_row(conn: &Connection, sealer: &Sealer) {
        super::super::check_key(conn, sealer).unwrap();
    }

    #[test]
    fn wrong_or_missing_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = EncryptionKey::generate();
        let state = SqliteState::open_with_key(&path, &key).unwrap();
        let hook = state
            .create_webhook(new_webhook("k", WebhookScope::All))
            .unwrap();
        drop(state);
        assert!(matches!(
            SqliteState::open_with_key(&path, &EncryptionKey::generate()),
            Err(StateError::WrongKey)
        ));
        let keyless = SqliteState::open(&path).unwrap();
        assert!(matches!(
            keyless.get_webhook(&hook.id),
            Err(StateError::NoEncryptionKey)
        ));
        let reopened = SqliteState::open_with_key(&path, &key).unwrap();
        assert_eq!(reopened.get_webhook(&hook.id).unwrap(), Some(hook));
    }
}
