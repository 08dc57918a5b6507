//! ClickHouse's HTTP interface: statements in, `RowBinary` out.
//!
//! Written on a plain HTTP client rather than a ClickHouse client library: the store's rows are
//! built column by column from the traits' types (not one struct per table), the store must
//! speak to servers from 18.16 (2018) on, and its calls block, as the store traits do.

use std::time::Duration;

use base64::Engine as _;

use crate::{ClickHouseError, Endpoint};

/// What a response may hold at most, unless configured otherwise.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 1 << 30;

/// One server, reached over HTTP.
pub(crate) struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    authorization: Option<String>,
    max_response_bytes: u64,
    /// Every statement and its answer, for the tests that replay them on another engine.
    #[cfg(test)]
    pub(crate) recorded: std::sync::Mutex<Vec<Exchange>>,
}

/// A statement the store sent, the data that went with it, and the server's answer.
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    pub(crate) statement: String,
    pub(crate) data: Option<Vec<u8>>,
    pub(crate) answer: Vec<u8>,
}

impl Client {
    /// A client whose every request ends within `timeout`.
    pub(crate) fn new(endpoint: Endpoint, timeout: Duration, max_response_bytes: u64) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let authorization = endpoint.credentials().map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        Client {
            agent,
            endpoint,
            authorization,
            max_response_bytes,
            #[cfg(test)]
            recorded: std::sync::Mutex::default(),
        }
    }

    /// Runs a statement that returns nothing.
    pub(crate) fn execute(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.post(&[], sql.as_bytes()).map(drop)
    }

    /// Runs a query and returns its whole answer (the query names its format).
    pub(crate) fn query(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        self.post(&[], sql.as_bytes())
    }

    /// Inserts `data` (in the format `statement` names) under `query_id`, so the server can be
    /// asked whether it is still running.
    pub(crate) fn insert(
        &self,
        statement: &str,
        query_id: &str,
        data: &[u8],
    ) -> Result<(), ClickHouseError> {
        self.post(&[("query", statement), ("query_id", query_id)], data)
            .map(drop)
    }

    fn post(&self, params: &[(&str, &str)], body: &[u8]) -> Result<Vec<u8>, ClickHouseError> {
        let mut request = self.agent.post(self.endpoint.base().as_str());
        for (key, value) in params {
            request = request.query(key, value);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let mut response = request.send(body).map_err(ClickHouseError::transport)?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(ClickHouseError::transport)?;
        if status == 200 {
            #[cfg(test)]
            self.record(params, body, &bytes);
            return Ok(bytes);
        }
        Err(ClickHouseError::server(status, &bytes))
    }

    #[cfg(test)]
    fn record(&self, params: &[(&str, &str)], body: &[u8], answer: &[u8]) {
        let statement = params.iter().find(|(key, _)| *key == "query");
        let exchange = match statement {
            Some((_, statement)) => Exchange {
                statement: (*statement).to_owned(),
                data: Some(body.to_vec()),
                answer: answer.to_vec(),
            },
            None => Exchange {
                statement: String::from_utf8_lossy(body).into_owned(),
                data: None,
                answer: answer.to_vec(),
            },
        };
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.push(exchange);
        }
    }
}
