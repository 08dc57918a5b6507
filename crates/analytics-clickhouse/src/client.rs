//! ClickHouse's HTTP interface: statements in, `RowBinary` out.
//!
//! Written on a plain HTTP client rather than a ClickHouse client library: the store's rows are
//! built column by column from the traits' types (not one struct per table), the store must
//! speak to servers from 18.16 (2018) on, and its calls block, as the store traits do.

use std::time::Duration;

use std::io::Write as _;

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;

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
        self.query(sql).map(drop)
    }

    /// Runs a query and returns its whole answer (the query names its format).
    pub(crate) fn query(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        let answer = self.post(&[], None, sql.as_bytes())?;
        #[cfg(test)]
        self.record(&[], sql.as_bytes(), &answer);
        Ok(answer)
    }

    /// Inserts `rows` (`count` of them, in the format `statement` names) under `query_id`, as
    /// one block: written whole or not at all. One block because the server may take up to
    /// `count` rows into it; whole because the body is gzip-framed: a body cut off (the writer
    /// died midway) fails the gzip stream's end, where a plain body cut off between rows would
    /// read as a shorter insert.
    pub(crate) fn insert_block(
        &self,
        statement: &str,
        query_id: &str,
        rows: &[u8],
        count: usize,
    ) -> Result<(), ClickHouseError> {
        let body = gzip(rows).map_err(ClickHouseError::Compress)?;
        let block_rows = count.saturating_add(1).max(1_048_576).to_string();
        let params = [
            ("query", statement),
            ("query_id", query_id),
            ("max_insert_block_size", block_rows.as_str()),
        ];
        self.post(&params, Some("gzip"), &body)?;
        #[cfg(test)]
        self.record(&params, rows, b"");
        Ok(())
    }

    fn post(
        &self,
        params: &[(&str, &str)],
        encoding: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<u8>, ClickHouseError> {
        let mut request = self.agent.post(self.endpoint.base().as_str());
        for (key, value) in params {
            request = request.query(key, value);
        }
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
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

/// `bytes` as one gzip stream (fast compression: the point is the framing, and the zeros of
/// unused record columns).
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}
