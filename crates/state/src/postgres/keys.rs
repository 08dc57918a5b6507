//! [`KeyStore`] on PostgreSQL.

use tokio_postgres::Row;

use super::PostgresState;
use crate::keys::{grants_column, new_record, parse_grants, ApiKey, KeyRecord, KeyStore, NewKey};
use crate::{unix_now, StateError};

const COLUMNS: &str = "id, label, prefix, grants, subaccount, created_at, revoked_at";

fn read_key(row: &Row) -> Result<ApiKey, StateError> {
    let subaccount: Option<i64> = row.try_get("subaccount")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        prefix: row.try_get("prefix")?,
        grants: parse_grants(row.try_get("grants")?),
        subaccount: subaccount
            .map(u64::try_from)
            .transpose()
            .map_err(|e| StateError::Corrupt(format!("api key subaccount: {e}")))?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl KeyStore for PostgresState {
    fn create_key(&self, new: NewKey) -> Result<(ApiKey, String), StateError> {
        let KeyRecord { key, secret, hash } = new_record(new)?;
        let subaccount = key
            .subaccount
            .map(i64::try_from)
            .transpose()
            .map_err(|e| StateError::Invalid(format!("subaccount: {e}")))?;
        let record = key.clone();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let insert = client
                .prepare_cached(
                    "INSERT INTO api_keys (id, label, prefix, hash, grants, subaccount, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .await?;
            client
                .execute(
                    &insert,
                    &[
                        &record.id,
                        &record.label,
                        &record.prefix,
                        &hash,
                        &grants_column(&record.grants),
                        &subaccount,
                        &record.created_at,
                    ],
                )
                .await?;
            Ok(())
        })?;
        Ok((key, secret))
    }

    fn find_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StateError> {
        let hash = hash.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE hash = $1"))
                .await?;
            client
                .query_opt(&select, &[&hash])
                .await?
                .as_ref()
                .map(read_key)
                .transpose()
        })
    }

    fn list_keys(&self) -> Result<Vec<ApiKey>, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"
                ))
                .await?;
            client
                .query(&select, &[])
                .await?
                .iter()
                .map(read_key)
                .collect()
        })
    }

    fn revoke_key(&self, id: &str) -> Result<bool, StateError> {
        let id = id.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let update = client
                .prepare_cached(
                    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .await?;
            Ok(client.execute(&update, &[&unix_now(), &id]).await? > 0)
        })
    }

    fn count_keys(&self) -> Result<u64, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_one("SELECT COUNT(*) FROM api_keys", &[])
                .await?;
            Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
        })
    }
}
