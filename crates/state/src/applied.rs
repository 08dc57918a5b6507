//! Where the subscribers whose results live in the state store (webhooks, suppressions) keep
//! the identities of the events they applied, so that a repeat is ignored after a restart too
//! (see `eventhose_model::AppliedIds`).

use eventhose_model::AppliedId;

use crate::StateError;

/// What one commit of a subscriber applied.
#[derive(Clone, Copy, Debug)]
pub struct AppliedBatch<'a> {
    /// The subscriber's name on the hose.
    pub subscriber: &'a str,
    /// The identities applied since its last commit.
    pub ids: &'a [AppliedId],
    /// Identities applied before this unix minute have left the window and may be dropped.
    pub forget_before: i64,
}

/// The applied-event identities of the subscribers.
pub trait AppliedEventStore: Send + Sync {
    /// The identities `subscriber` applied at or after `since` (unix minutes).
    fn applied_events(&self, subscriber: &str, since: i64) -> Result<Vec<AppliedId>, StateError>;

    /// Remembers a commit's identities and drops those that left the window.
    fn remember_applied(&self, batch: AppliedBatch<'_>) -> Result<(), StateError>;
}

/// A commit's identities as stored: one packed row per minute they were applied in.
#[derive(Clone, Debug)]
pub(crate) struct PackedBatch {
    /// The subscriber's name on the hose.
    pub(crate) subscriber: String,
    /// Each minute and its identities, [`pack`]ed.
    pub(crate) rows: Vec<(i64, Vec<u8>)>,
    /// Rows of minutes before this one may be dropped.
    pub(crate) forget_before: i64,
}

impl From<AppliedBatch<'_>> for PackedBatch {
    fn from(batch: AppliedBatch<'_>) -> Self {
        let mut by_minute: std::collections::BTreeMap<i64, Vec<u64>> = Default::default();
        for id in batch.ids {
            by_minute.entry(id.minute).or_default().push(id.identity);
        }
        Self {
            subscriber: batch.subscriber.to_owned(),
            rows: by_minute
                .into_iter()
                .map(|(minute, identities)| (minute, pack(identities.into_iter())))
                .collect(),
            forget_before: batch.forget_before,
        }
    }
}

/// The identities of one stored row, packed as little-endian 64-bit integers: one row per
/// subscriber and minute of a commit holds them all, so remembering a commit of thousands of
/// events is one insert.
fn pack(ids: impl Iterator<Item = u64>) -> Vec<u8> {
    ids.flat_map(u64::to_le_bytes).collect()
}

/// The identities packed by [`pack`]; a trailing partial integer is an error.
pub(crate) fn unpack(packed: &[u8]) -> Result<impl Iterator<Item = u64> + '_, StateError> {
    if !packed.len().is_multiple_of(8) {
        return Err(StateError::Corrupt(format!(
            "applied identities: {} bytes is not a whole number of 8-byte integers",
            packed.len()
        )));
    }
    Ok(packed.chunks_exact(8).map(|chunk| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        u64::from_le_bytes(bytes)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_identities_round_trip() {
        let ids = [0, 1, u64::MAX, 0x0102_0304_0506_0708];
        let packed = pack(ids.into_iter());
        assert_eq!(packed.len(), 32);
        assert_eq!(unpack(&packed).unwrap().collect::<Vec<_>>(), ids);
        assert!(unpack(&packed[..31]).is_err());
    }
}
