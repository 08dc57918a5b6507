//! Whose events an ingest request may carry and when they may have happened: the checks that
//! depend on the sender's key and on the clock, applied after a line is validated.

use crate::ParseError;

/// The largest subaccount id accepted anywhere (events, headers, keys, webhooks): the range
/// of a signed 32-bit integer, which SparkPost's clients and APIs carry subaccount ids in.
/// Larger values could wrap into the negative ids that mean "every account" in some places.
pub const MAX_SUBACCOUNT_ID: u64 = i32::MAX as u64;

/// Reads a subaccount id in [`MAX_SUBACCOUNT_ID`]'s range from canonical decimal text.
pub fn subaccount_id_from_text(text: &str) -> Option<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|&id| id <= MAX_SUBACCOUNT_ID)
}

/// What one ingest request may carry beyond the event rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestScope {
    /// The subaccount of the sender's key: a line naming another subaccount (the primary
    /// account included) is refused, a line naming none is stamped with this one. `None` for a
    /// primary key, whose lines name any account.
    pub subaccount: Option<u64>,
    /// The earliest accepted `timestamp`, in unix seconds (now less the longest retention).
    pub earliest: i64,
    /// The latest accepted `timestamp`, in unix seconds (now plus the allowed clock skew).
    pub latest: i64,
}

impl IngestScope {
    /// Accepts any account and any time (for tools that replay stored events).
    pub const UNBOUNDED: IngestScope = IngestScope {
        subaccount: None,
        earliest: 0,
        latest: crate::MAX_TIMESTAMP,
    };

    /// Checks a validated line and stamps the key's subaccount into its storage form when the
    /// line names none. `stored` is the bare JSON object the validation wrote.
    pub(crate) fn admit(
        &self,
        timestamp: i64,
        subaccount: Option<u64>,
        stored: &mut Vec<u8>,
    ) -> Result<(), ParseError> {
        if timestamp < self.earliest || timestamp > self.latest {
            return Err(ParseError::OutsideWindow {
                timestamp,
                earliest: self.earliest,
                latest: self.latest,
            });
        }
        match (self.subaccount, subaccount) {
            (Some(own), Some(named)) if named != own => {
                Err(ParseError::ForeignSubaccount { named, own })
            }
            (Some(own), None) => stamp_subaccount(stored, own),
            _ => Ok(()),
        }
    }
}

/// Adds `"subaccount_id":"<id>"` as the last member of a storage form (a JSON object, which
/// validation always gives `type`, `timestamp` and `event_id`). Integers are stored as decimal
/// strings, as validation writes them. Anything but an object is refused rather than left
/// unstamped (which would file the line under the primary account).
fn stamp_subaccount(stored: &mut Vec<u8>, id: u64) -> Result<(), ParseError> {
    if stored.first() != Some(&b'{') || stored.last() != Some(&b'}') {
        return Err(ParseError::NotAnObject {
            got: "another value",
        });
    }
    stored.pop();
    if stored.len() > 1 {
        stored.push(b',');
    }
    stored.extend_from_slice(format!(r#""subaccount_id":"{id}"}}"#).as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(subaccount: Option<u64>) -> IngestScope {
        IngestScope {
            subaccount,
            earliest: 100,
            latest: 200,
        }
    }

    #[test]
    fn window_bounds_are_inclusive() {
        let mut stored = br#"{"type":"delivery"}"#.to_vec();
        for accepted in [100, 150, 200] {
            scope(None).admit(accepted, None, &mut stored).unwrap();
        }
        for refused in [99, 201] {
            let error = scope(None).admit(refused, None, &mut stored).unwrap_err();
            assert_eq!(error.field(), Some("timestamp"));
        }
    }

    #[test]
    fn a_subaccount_key_stamps_its_own_id_and_refuses_others() {
        let mut stored = br#"{"type":"delivery","timestamp":"150"}"#.to_vec();
        scope(Some(3)).admit(150, None, &mut stored).unwrap();
        assert_eq!(
            stored,
            br#"{"type":"delivery","timestamp":"150","subaccount_id":"3"}"#
        );
        let mut named = br#"{"type":"delivery","subaccount_id":"3"}"#.to_vec();
        scope(Some(3)).admit(150, Some(3), &mut named).unwrap();
        assert_eq!(named, br#"{"type":"delivery","subaccount_id":"3"}"#);
        for other in [0, 7] {
            let error = scope(Some(3))
                .admit(150, Some(other), &mut named)
                .unwrap_err();
            assert_eq!(error.field(), Some("subaccount_id"));
        }
    }

    #[test]
    fn stamping_keeps_the_json_valid_and_refuses_what_is_not_an_object() {
        let mut empty = b"{}".to_vec();
        scope(Some(3)).admit(150, None, &mut empty).unwrap();
        assert_eq!(empty, br#"{"subaccount_id":"3"}"#);
        let mut not_an_object = b"[]".to_vec();
        assert!(scope(Some(3)).admit(150, None, &mut not_an_object).is_err());
    }

    #[test]
    fn a_primary_key_keeps_lines_as_they_are() {
        let mut stored = br#"{"type":"delivery"}"#.to_vec();
        scope(None).admit(150, None, &mut stored).unwrap();
        scope(None).admit(150, Some(7), &mut stored).unwrap();
        assert_eq!(stored, br#"{"type":"delivery"}"#);
    }

    #[test]
    fn subaccount_ids_stop_at_the_32_bit_range() {
        assert_eq!(subaccount_id_from_text("0"), Some(0));
        assert_eq!(
            subaccount_id_from_text("2147483647"),
            Some(MAX_SUBACCOUNT_ID)
        );
        assert_eq!(subaccount_id_from_text("2147483648"), None);
        assert_eq!(subaccount_id_from_text("18446744073709551615"), None);
        assert_eq!(subaccount_id_from_text("-1"), None);
    }
}
