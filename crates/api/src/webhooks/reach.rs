//! Which webhooks a caller may see and change: SparkPost's `X-MSYS-SUBACCOUNT` rules.
//!
//! A primary key without the header reaches every webhook and creates webhooks that receive
//! the primary account's and every subaccount's events; with `0` it reaches the primary
//! account's webhooks; with `N` subaccount N's. A subaccount key reaches its own subaccount's
//! webhooks only, whatever the header says.

use axum::http::HeaderMap;
use eventhose_state::{ApiKey, Webhook, WebhookOwner, WebhookScope};

use crate::acting_account::acting_account;
use crate::error::ApiError;

/// The webhooks a request may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every webhook (a primary key without the header).
    Everything,
    /// The webhooks of one account.
    Owner(WebhookOwner),
}

impl Reach {
    /// The reach of `key` given the request's headers: 400 for a header that is not a
    /// non-negative integer, 403 for a subaccount key naming another account.
    pub(crate) fn of(key: &ApiKey, headers: &HeaderMap) -> Result<Self, ApiError> {
        Ok(match acting_account(key, headers)? {
            None => Self::Everything,
            Some(0) => Self::Owner(WebhookOwner::Primary),
            Some(n) => Self::Owner(WebhookOwner::Subaccount(n)),
        })
    }

    /// Whether `webhook` is within reach.
    pub(crate) fn reaches(self, webhook: &Webhook) -> bool {
        self.may_assign(webhook.scope)
    }

    /// Whether a webhook of `scope` would be within reach (for changing `subaccount_id`).
    pub(crate) fn may_assign(self, scope: WebhookScope) -> bool {
        match self {
            Self::Everything => true,
            Self::Owner(owner) => scope.owner() == owner,
        }
    }

    /// The owner filter for listing.
    pub(crate) fn owner(self) -> Option<WebhookOwner> {
        match self {
            Self::Everything => None,
            Self::Owner(owner) => Some(owner),
        }
    }

    /// The scope of a webhook created with this reach.
    pub(crate) fn create_scope(self) -> WebhookScope {
        match self {
            Self::Everything => WebhookScope::All,
            Self::Owner(WebhookOwner::Primary) => WebhookScope::Primary,
            Self::Owner(WebhookOwner::Subaccount(n)) => WebhookScope::Subaccount(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acting_account::fixtures::{headers, key};
    use axum::http::StatusCode;

    #[test]
    fn primary_key_is_scoped_by_the_header() {
        let primary = key(None);
        let reach = |h| Reach::of(&primary, &headers(h)).unwrap();
        assert_eq!(reach(None), Reach::Everything);
        assert_eq!(reach(None).create_scope(), WebhookScope::All);
        assert_eq!(reach(Some("0")).create_scope(), WebhookScope::Primary);
        assert_eq!(
            reach(Some(" 7 ")).create_scope(),
            WebhookScope::Subaccount(7)
        );
        assert!(reach(Some("0")).may_assign(WebhookScope::All));
        assert!(!reach(Some("0")).may_assign(WebhookScope::Subaccount(1)));
        assert!(reach(None).may_assign(WebhookScope::Subaccount(1)));
        for bad in ["abc", "-1", "1.5", ""] {
            let err = Reach::of(&primary, &headers(Some(bad))).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn subaccount_key_cannot_widen_its_reach() {
        let sub = key(Some(3));
        let own = Reach::Owner(WebhookOwner::Subaccount(3));
        assert_eq!(Reach::of(&sub, &headers(None)).unwrap(), own);
        assert_eq!(Reach::of(&sub, &headers(Some("3"))).unwrap(), own);
        for other in ["0", "4"] {
            let err = Reach::of(&sub, &headers(Some(other))).unwrap_err();
            assert_eq!(err.status, StatusCode::FORBIDDEN);
        }
        assert!(!own.may_assign(WebhookScope::All));
        assert_eq!(own.owner(), Some(WebhookOwner::Subaccount(3)));
    }
}
