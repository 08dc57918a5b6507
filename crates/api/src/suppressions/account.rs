//! Which suppression lists a request reaches, by key and `X-MSYS-SUBACCOUNT`.
//!
//! A subaccount key reaches its own list only (naming another account is 403). A primary key
//! reads every list without the header, the primary list with `0` and subaccount N's with `N`;
//! it writes and deletes in the primary list without the header (or with `0`) and in
//! subaccount N's with `N`.

use axum::http::HeaderMap;
use eventhose_state::{ApiKey, ListScope};

use crate::acting_account::acting_account;
use crate::error::ApiError;

/// The lists a read reaches.
pub(crate) fn read_scope(key: &ApiKey, headers: &HeaderMap) -> Result<ListScope, ApiError> {
    Ok(match acting_account(key, headers)? {
        None => ListScope::All,
        Some(0) => ListScope::Primary,
        Some(n) => ListScope::Subaccount(n),
    })
}

/// The list a write or delete changes: `None` is the primary account's.
pub(crate) fn write_account(key: &ApiKey, headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    Ok(acting_account(key, headers)?.filter(|n| *n != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acting_account::fixtures::{headers, key};
    use axum::http::StatusCode;

    #[test]
    fn primary_key_reads_all_and_writes_primary_by_default() {
        let primary = key(None);
        assert_eq!(
            read_scope(&primary, &headers(None)).unwrap(),
            ListScope::All
        );
        assert_eq!(
            read_scope(&primary, &headers(Some("0"))).unwrap(),
            ListScope::Primary
        );
        assert_eq!(
            read_scope(&primary, &headers(Some("12"))).unwrap(),
            ListScope::Subaccount(12)
        );
        assert_eq!(write_account(&primary, &headers(None)).unwrap(), None);
        assert_eq!(write_account(&primary, &headers(Some("0"))).unwrap(), None);
        assert_eq!(
            write_account(&primary, &headers(Some("12"))).unwrap(),
            Some(12)
        );
        for bad in ["x", "-1", ""] {
            let err = read_scope(&primary, &headers(Some(bad))).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.errors[0].param.as_deref(), Some("X-MSYS-SUBACCOUNT"));
        }
    }

    #[test]
    fn subaccount_key_stays_in_its_list() {
        let sub = key(Some(4));
        for value in [None, Some("4")] {
            assert_eq!(
                read_scope(&sub, &headers(value)).unwrap(),
                ListScope::Subaccount(4)
            );
            assert_eq!(write_account(&sub, &headers(value)).unwrap(), Some(4));
        }
        for other in ["0", "5"] {
            let err = read_scope(&sub, &headers(Some(other))).unwrap_err();
            assert_eq!(err.status, StatusCode::FORBIDDEN);
        }
    }
}
