//! Databases of the tests' own on a ClickHouse server: the local one `.ci/run` starts, or
//! `TEST_EVENTHOSE_CLICKHOUSE`.

/// The server's HTTP address, ending in `/`.
pub fn server() -> String {
    let url = std::env::var("TEST_EVENTHOSE_CLICKHOUSE")
        .unwrap_or_else(|_| "http://127.0.0.1:8123/".to_owned());
    if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    }
}

/// A database name of the test's own, dropped (with everything in it) when the value is.
/// Nothing is created: the store under test creates its database.
pub struct ClickHouseDatabase {
    name: String,
}

impl ClickHouseDatabase {
    /// A fresh name.
    #[allow(clippy::new_without_default)]
    pub fn new() -> ClickHouseDatabase {
        ClickHouseDatabase {
            name: format!("eh_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store URL naming it (`analytics.url`).
    pub fn url(&self) -> String {
        format!("{}?database={}", server(), self.name)
    }

    /// Runs a statement on the server; returns its answer (a refusal panics, naming it).
    pub fn execute(&self, sql: &str) -> String {
        let mut response = ureq::post(server())
            .config()
            .http_status_as_error(false)
            .build()
            .send(sql)
            .expect("ClickHouse reachable");
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .expect("ClickHouse's answer");
        assert_eq!(status, 200, "{sql}: {text}");
        text
    }
}

impl Drop for ClickHouseDatabase {
    fn drop(&mut self) {
        let _ = ureq::post(server()).send(format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}
