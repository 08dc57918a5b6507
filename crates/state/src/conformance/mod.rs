//! The conformance suite of the state store: every behaviour the traits promise, written once
//! against [`StateStore`] and run on each backend (`conformance::<area>::sqlite::<test>` and
//! `conformance::<area>::postgres::<test>`). Backend-specific checks (what the SQLite files
//! hold, PostgreSQL's notifications) stay beside their backend.

mod applied;
mod erasures;
mod idempotency;
mod keys;
mod suppressions;
mod webhooks;

use std::sync::Arc;

use crate::testing::TestDatabase;
use crate::{EncryptionKey, PostgresOptions, PostgresState, SqliteState, StateError, StateStore};

/// A store under test, opened with an encryption key, and the place it lives (a temporary
/// directory, or a database of its own), removed when the fixture is dropped.
pub(crate) struct Fixture {
    pub(crate) store: Arc<dyn StateStore>,
    key: EncryptionKey,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

impl Fixture {
    /// A new SQLite store in a temporary directory.
    pub(crate) fn sqlite() -> Self {
        let place = Place::Sqlite(tempfile::tempdir().unwrap());
        Self::open_in(place)
    }

    /// A new PostgreSQL store in a database of its own.
    pub(crate) fn postgres() -> Self {
        Self::open_in(Place::Postgres(TestDatabase::create()))
    }

    fn open_in(place: Place) -> Self {
        let key = EncryptionKey::generate();
        let store = place.open(Some(&key)).unwrap();
        Self { store, key, place }
    }

    /// The key the store was opened with.
    pub(crate) fn key(&self) -> &EncryptionKey {
        &self.key
    }

    /// The same store opened again, as another process or a restart would, with `key` or
    /// none.
    pub(crate) fn reopen(
        &self,
        key: Option<&EncryptionKey>,
    ) -> Result<Arc<dyn StateStore>, StateError> {
        self.place.open(key)
    }

    /// Runs `sql` (text both backends accept) on the store's database behind its back, for
    /// what the traits cannot set (the times of writes).
    pub(crate) fn execute(&self, sql: &str) {
        match &self.place {
            Place::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .unwrap();
                conn.execute_batch(sql).unwrap();
            }
            Place::Postgres(db) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
                            .await
                            .unwrap();
                    let connection = tokio::spawn(connection);
                    client.batch_execute(sql).await.unwrap();
                    drop(client);
                    let _ = connection.await;
                });
            }
        }
    }
}

impl Place {
    fn open(&self, key: Option<&EncryptionKey>) -> Result<Arc<dyn StateStore>, StateError> {
        Ok(match (self, key) {
            (Place::Sqlite(dir), Some(key)) => Arc::new(SqliteState::open_with_key(
                dir.path().join("state.sqlite"),
                key,
            )?),
            (Place::Sqlite(dir), None) => {
                Arc::new(SqliteState::open(dir.path().join("state.sqlite"))?)
            }
            (Place::Postgres(db), Some(key)) => Arc::new(PostgresState::open_with_key(
                db.url(),
                &PostgresOptions::default(),
                key,
            )?),
            (Place::Postgres(db), None) => {
                Arc::new(PostgresState::open(db.url(), &PostgresOptions::default())?)
            }
        })
    }
}

/// Runs each named test function (`fn(Fixture)`) once per backend, as
/// `sqlite::<name>` and `postgres::<name>`.
macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::conformance::Fixture::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::conformance::Fixture::postgres());
                }
            )*
        }
    };
}
pub(crate) use conformance_tests;
