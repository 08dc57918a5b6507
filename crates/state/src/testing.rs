//! Test support for the code that uses the state store: a PostgreSQL database of its own
//! for each test (`testing` feature).

use std::str::FromStr;

use tokio_postgres::NoTls;

/// The server the tests use: `TEST_EVENTHOSE_POSTGRES`, or the local one.
pub fn server_url() -> String {
    std::env::var("TEST_EVENTHOSE_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database, dropped (with any connection still open) when this is.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates the database; panics when the server cannot be reached.
    pub fn create() -> Self {
        let name = format!("eventhose_t_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {name}"));
        let mut config = tokio_postgres::Config::from_str(&server_url())
            .expect("TEST_EVENTHOSE_POSTGRES is a PostgreSQL URL");
        config.dbname(&name);
        let url = to_url(&config);
        Self { name, url }
    }

    /// The database's connection string.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// A `postgres://` URL for `config`'s host, port, user and database (TCP hosts only).
fn to_url(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let dbname = config.get_dbname().unwrap_or("postgres");
    format!("postgres://{user}@{host}:{port}/{dbname}")
}

/// Runs one statement on the server's maintenance database (on a thread of its own, so
/// that a test inside a runtime may call it too).
fn admin(sql: &str) {
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test database's statement");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&server_url(), NoTls)
                .await
                .expect("the test PostgreSQL server (TEST_EVENTHOSE_POSTGRES) is reachable");
            let connection = tokio::spawn(connection);
            if let Err(e) = client.batch_execute(&sql).await {
                panic!("{sql}: {e}");
            }
            drop(client);
            let _ = connection.await;
        });
    })
    .join()
    .expect("the test database's statement ran");
}
