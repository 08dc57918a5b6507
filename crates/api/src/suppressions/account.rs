//! Which suppression lists a request reaches, by key and `X-MSYS-SUBACCOUNT`.
//!
//! A subaccount key reaches its own list only (naming another account is 403). A primary key
//! reads every list without the header, the primary list with `0` and subaccount N's with `N`;
//! it writes and deletes in the primary list without the header (or with `0`) and in
//! subaccount N's with `N`.

use axum::http::{HeaderMap, StatusCode};
use eventhose_state::{ApiKey, ListScope};

use crate::error::{ApiError, ErrorEntry};

/// The header naming the account a request acts for.
const SUBACCOUNT_HEADER: &str = "x-msys-subaccount";

/// The account the request names, checked against the key: `None` when it names none.
fn named_account(key: &ApiKey, headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let named = match headers.get(SUBACCOUNT_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_param(
                        "X-MSYS-SUBACCOUNT",
                        "X-MSYS-SUBACCOUNT must be a non-negative integer",
                    )
                })?,
        ),
    };
    match (key.subaccount, named) {
        (Some(own), Some(named)) if named != own => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Forbidden.")
                .description("a subaccount key cannot act for another account")
                .code("1100")
                .param("X-MSYS-SUBACCOUNT"),
        )),
        (Some(own), _) => Ok(Some(own)),
        (None, named) => Ok(named),
    }
}

/// The lists a read reaches.
pub(crate) fn read_scope(key: &ApiKey, headers: &HeaderMap) -> Result<ListScope, ApiError> {
    Ok(match named_account(key, headers)? {
        None => ListScope::All,
        Some(0) => ListScope::Primary,
        Some(n) => ListScope::Subaccount(n),
    })
}

/// The list a write or delete changes: `None` is the primary account's.
pub(crate) fn write_account(key: &ApiKey, headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    Ok(named_account(key, headers)?.filter(|n| *n != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key(subaccount: Option<u64>) -> ApiKey {
        ApiKey {
            id: "k".into(),
            label: "k".into(),
            prefix: "abcd".into(),
            grants: vec![],
            subaccount,
            created_at: 0,
            revoked_at: None,
        }
    }

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(SUBACCOUNT_HEADER, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

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
