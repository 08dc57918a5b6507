//! The answers given to ingest requests sent with an `Idempotency-Key`, so that a retried
//! request gets the first answer instead of publishing its events again.

use crate::StateError;

/// An answer kept for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    /// SHA-256 of what identifies the request (its body and the headers that change its
    /// meaning), so a different request under the same key is told apart.
    pub request_digest: [u8; 32],
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's JSON body.
    pub body: Vec<u8>,
    /// When the answer was stored (unix seconds).
    pub created_at: i64,
}

impl StoredAnswer {
    /// An answer from its stored columns, checked (a store's rows are written by
    /// `keep_answer` only, so a mismatch is corruption).
    pub(crate) fn from_columns(
        digest: &[u8],
        status: i64,
        body: Vec<u8>,
        created_at: i64,
    ) -> Result<Self, StateError> {
        Ok(Self {
            request_digest: digest.try_into().map_err(|_| {
                StateError::Corrupt("an ingest request digest is not 32 bytes".into())
            })?,
            status: u16::try_from(status)
                .map_err(|_| StateError::Corrupt(format!("ingest answer status {status}")))?,
            body,
            created_at,
        })
    }
}

/// Where ingest answers are kept, per API key and idempotency key.
pub trait IdempotencyStore: Send + Sync {
    /// The answer stored for `idempotency_key` of API key `key_id` at or after `since` (unix
    /// seconds; older answers have expired).
    fn find_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StateError>;

    /// Stores an answer (the first one stored for a key wins) and drops the answers created
    /// before `expire_before`.
    fn keep_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        answer: &StoredAnswer,
        expire_before: i64,
    ) -> Result<(), StateError>;
}
