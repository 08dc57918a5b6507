//! SparkPost's `X-MSYS-SUBACCOUNT` header: the account a request acts for, checked against the
//! key. Suppression lists and webhooks scope by it; each turns the answer into its own scope.

use axum::http::{HeaderMap, StatusCode};
use eventhose_model::{subaccount_id_from_text, MAX_SUBACCOUNT_ID};
use eventhose_state::ApiKey;

use crate::error::{ApiError, ErrorEntry};

/// The header naming the account a request acts for.
pub(crate) const SUBACCOUNT_HEADER: &str = "x-msys-subaccount";

/// The account a request acts for: a subaccount key's own (naming another is 403), else the
/// header's (`0` = primary), else `None`. A header that is not a subaccount id (an integer
/// from 0 to [`MAX_SUBACCOUNT_ID`]) is 400.
pub(crate) fn acting_account(key: &ApiKey, headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let named = match headers.get(SUBACCOUNT_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| subaccount_id_from_text(text.trim()))
                .ok_or_else(|| {
                    ApiError::bad_param(
                        "X-MSYS-SUBACCOUNT",
                        format!(
                            "X-MSYS-SUBACCOUNT must be an integer from 0 to {MAX_SUBACCOUNT_ID}"
                        ),
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

#[cfg(test)]
pub(crate) mod fixtures {
    //! Keys and headers for the scoping tests.

    use super::*;
    use axum::http::HeaderValue;

    /// A key of `subaccount` (or the primary account) with no grants.
    pub(crate) fn key(subaccount: Option<u64>) -> ApiKey {
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

    /// Headers with `X-MSYS-SUBACCOUNT: value`, or none.
    pub(crate) fn headers(value: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(SUBACCOUNT_HEADER, HeaderValue::from_str(value).unwrap());
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{headers, key};
    use super::*;

    #[test]
    fn subaccount_header_past_the_id_range_is_refused_not_wrapped_to_all_accounts() {
        for huge in ["18446744073709551615", "2147483648", "-1"] {
            let error = acting_account(&key(None), &headers(Some(huge))).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{huge}");
        }
        assert_eq!(
            acting_account(&key(None), &headers(Some("2147483647"))).unwrap(),
            Some(MAX_SUBACCOUNT_ID)
        );
        assert_eq!(
            acting_account(&key(None), &headers(Some("0"))).unwrap(),
            Some(0)
        );
    }

    #[test]
    fn a_subaccount_key_acts_only_for_itself() {
        assert_eq!(
            acting_account(&key(Some(3)), &headers(None)).unwrap(),
            Some(3)
        );
        let error = acting_account(&key(Some(3)), &headers(Some("0"))).unwrap_err();
        assert_eq!(error.status, StatusCode::FORBIDDEN);
    }
}
