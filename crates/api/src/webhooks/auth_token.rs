//! SparkPost's deprecated `auth_token`: a secret sent as `X-MessageSystems-Webhook-Token` with
//! every batch. Like the other secrets it is shown masked, the mask sent back in an update
//! keeps it, and it never follows a target that moves unless given again in full.
//!
//! SparkPost's reference (webhooks.apib, the webhook object): "auth_token (string) Deprecated in
//! favor of the `auth_type` field. Authentication token to present in the
//! `X-MessageSystems-Webhook-Token` header of POST requests to target."

use super::view::MASK;

/// The token a webhook will have: `given` is the body's `auth_token` (`""` for none), `stored`
/// the current one (`None` on create). `Err` says why the stored token cannot be kept.
pub(crate) fn resolve(
    given: Option<&str>,
    stored: Option<&str>,
    target_moved: bool,
) -> Result<Option<String>, &'static str> {
    match (given, stored) {
        (None, Some(_)) if target_moved => {
            Err("auth_token must be given again (in full) when target changes")
        }
        (None, kept) => Ok(kept.map(String::from)),
        (Some(""), _) => Ok(None),
        (Some(MASK), Some(_)) if target_moved => {
            Err("auth_token must be given in full (not masked) when target changes")
        }
        (Some(MASK), Some(kept)) => Ok(Some(kept.to_string())),
        (Some(token), _) => Ok(Some(token.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_keeps_the_token_only_where_it_was_sent() {
        assert_eq!(resolve(None, None, false), Ok(None));
        assert_eq!(resolve(Some("t1"), None, false), Ok(Some("t1".into())));
        assert_eq!(resolve(None, Some("t1"), false), Ok(Some("t1".into())));
        assert_eq!(
            resolve(Some(MASK), Some("t1"), false),
            Ok(Some("t1".into()))
        );
        assert_eq!(resolve(Some(""), Some("t1"), true), Ok(None));
        assert_eq!(resolve(Some("t2"), Some("t1"), true), Ok(Some("t2".into())));
        assert!(resolve(Some(MASK), Some("t1"), true).is_err());
        assert!(resolve(None, Some("t1"), true).is_err());
        assert_eq!(resolve(None, None, true), Ok(None));
    }
}
