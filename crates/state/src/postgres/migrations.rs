//! The PostgreSQL schema, as numbered migrations. It holds what SQLite's migrations arrive at
//! (without their history: custom headers are sealed from the start, suppression keys are
//! lower-cased from the start). Text keys compare byte-wise (`COLLATE "C"`), as in SQLite, so
//! orders and cursors do not depend on the server's locale.

use deadpool_postgres::Pool;

use crate::StateError;

/// The advisory lock the migrations run under ("eventhos" in ASCII).
const MIGRATION_LOCK: i64 = 0x6576_656e_7468_6f73;

/// Schema migrations, applied in order; `eventhose_schema.version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"CREATE TABLE api_keys (
        id          TEXT COLLATE "C" PRIMARY KEY,
        label       TEXT NOT NULL,
        prefix      TEXT NOT NULL,
        hash        TEXT COLLATE "C" NOT NULL UNIQUE,
        grants      TEXT NOT NULL,
        subaccount  BIGINT,
        created_at  BIGINT NOT NULL,
        revoked_at  BIGINT
    );
    CREATE TABLE state_meta (
        name   TEXT COLLATE "C" PRIMARY KEY,
        value  BYTEA NOT NULL
    );
    CREATE TABLE webhooks (
        id                     TEXT COLLATE "C" PRIMARY KEY,
        seq                    BIGINT GENERATED ALWAYS AS IDENTITY,
        name                   TEXT NOT NULL,
        target                 TEXT NOT NULL,
        events                 TEXT NOT NULL,
        active                 BOOLEAN NOT NULL,
        auth_type              TEXT NOT NULL,
        auth_username          TEXT,
        auth_url               TEXT,
        subaccount             BIGINT NOT NULL,
        exception_subaccounts  TEXT NOT NULL,
        secrets                BYTEA NOT NULL,
        last_successful        BIGINT,
        last_failure           BIGINT,
        created_at             BIGINT NOT NULL,
        updated_at             BIGINT NOT NULL
    );
    CREATE INDEX webhooks_by_subaccount ON webhooks (subaccount);
    CREATE TABLE webhook_batches (
        webhook_id     TEXT COLLATE "C" NOT NULL,
        batch_id       TEXT COLLATE "C" NOT NULL,
        seq            BIGINT GENERATED ALWAYS AS IDENTITY,
        ts             BIGINT NOT NULL,
        attempts       INTEGER NOT NULL,
        response_code  INTEGER,
        failure_code   TEXT,
        batch_size     INTEGER NOT NULL,
        latency_ms     BIGINT NOT NULL,
        PRIMARY KEY (webhook_id, batch_id)
    );
    CREATE INDEX webhook_batches_by_age ON webhook_batches (ts);
    CREATE INDEX webhook_batches_newest ON webhook_batches (webhook_id, ts DESC, seq DESC);
    CREATE TABLE webhook_failed_batches (
        webhook_id        TEXT COLLATE "C" NOT NULL,
        batch_id          TEXT COLLATE "C" NOT NULL,
        payload           BYTEA NOT NULL,
        failed_at         BIGINT NOT NULL,
        replay_requested  BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (webhook_id, batch_id)
    );
    CREATE INDEX webhook_failed_batches_by_age ON webhook_failed_batches (failed_at);
    CREATE TABLE suppressions (
        id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subaccount     BIGINT NOT NULL,
        recipient_key  TEXT COLLATE "C" NOT NULL,
        recipient      TEXT NOT NULL,
        domain         TEXT COLLATE "C" NOT NULL,
        type           TEXT COLLATE "C" NOT NULL,
        list_id        TEXT COLLATE "C" NOT NULL,
        source         TEXT COLLATE "C" NOT NULL,
        description    TEXT,
        occurred_at    BIGINT NOT NULL,
        created        BIGINT NOT NULL,
        updated        BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX suppressions_by_recipient
        ON suppressions (recipient_key, subaccount, type, list_id);
    CREATE INDEX suppressions_by_updated ON suppressions (updated, id);
    CREATE INDEX suppressions_by_account_updated ON suppressions (subaccount, updated, id);
    CREATE INDEX suppressions_by_domain ON suppressions (domain, updated);
    CREATE INDEX suppressions_by_source ON suppressions (source, subaccount);
    CREATE TABLE erasures (
        recipient_digest  BYTEA PRIMARY KEY,
        erased_at         BIGINT NOT NULL
    );
    CREATE TABLE applied_events (
        subscriber  TEXT COLLATE "C" NOT NULL,
        minute      BIGINT NOT NULL,
        identities  BYTEA NOT NULL
    );
    CREATE INDEX applied_events_by_minute ON applied_events (subscriber, minute);
    CREATE TABLE ingest_requests (
        key_id        TEXT COLLATE "C" NOT NULL,
        idempotency   TEXT COLLATE "C" NOT NULL,
        body_digest   BYTEA NOT NULL,
        status        INTEGER NOT NULL,
        answer        BYTEA NOT NULL,
        created_at    BIGINT NOT NULL,
        PRIMARY KEY (key_id, idempotency)
    );
    CREATE INDEX ingest_requests_by_created ON ingest_requests (created_at);"#,
    // When a worker took a failed batch's replay (`WebhookStore::claim_replays`).
    "ALTER TABLE webhook_failed_batches ADD COLUMN replay_claimed_at BIGINT;",
];

/// Applies the migrations not yet run, in one transaction under [`MIGRATION_LOCK`]: a process
/// starting beside another waits for it, then finds the work done.
pub(super) async fn migrate(pool: &Pool) -> Result<(), StateError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS eventhose_schema (version INTEGER NOT NULL)")
        .await?;
    let done: i32 = match tx
        .query_opt("SELECT version FROM eventhose_schema", &[])
        .await?
    {
        Some(row) => row.try_get(0)?,
        None => {
            tx.execute("INSERT INTO eventhose_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    let known = MIGRATIONS.len();
    let done = usize::try_from(done).unwrap_or(0);
    if done > known {
        return Err(StateError::Invalid(format!(
            "state: the database's schema is version {done}, newer than this eventhose knows \
             ({known}); upgrade eventhose"
        )));
    }
    for migration in &MIGRATIONS[done..] {
        tx.batch_execute(migration).await?;
    }
    let version = i32::try_from(known).unwrap_or(i32::MAX);
    tx.execute("UPDATE eventhose_schema SET version = $1", &[&version])
        .await?;
    tx.commit().await?;
    Ok(())
}
