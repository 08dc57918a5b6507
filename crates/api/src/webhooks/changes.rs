//! From a request body to what the store is asked to do: a new webhook, or the changes to a
//! stored one, after every rule is checked.

use eventhose_state::{NewWebhook, Webhook, WebhookAuth, WebhookChanges, WebhookScope};
use eventhose_webhooks::TargetPolicy;

use super::body::{self, Fields, Problems};
use super::reach::Reach;
use super::{auth_fields, custom_headers, target_check};
use crate::error::ApiError;

/// Checks a create body; the new webhook's scope comes from the caller's reach.
pub(crate) async fn new_webhook(
    bytes: &[u8],
    reach: Reach,
    policy: TargetPolicy,
) -> Result<NewWebhook, ApiError> {
    let mut problems = Problems::default();
    let fields = body::read(bytes, &mut problems)?;
    for (param, missing) in [
        ("name", fields.name.is_none()),
        ("target", fields.target.is_none()),
        ("events", fields.events.is_none()),
    ] {
        if missing && !problems.names(param) {
            problems.add(param, format!("{param} is required"));
        }
    }
    if fields.subaccount_id.is_some() {
        problems.add(
            "subaccount_id",
            "subaccount_id can only be changed on update; create with X-MSYS-SUBACCOUNT instead",
        );
    }
    let auth = auth_fields::resolve(&fields, None, false, &mut problems);
    let headers = fields.custom_headers.clone().unwrap_or_default();
    let scope = reach.create_scope();
    let exceptions = fields.exception_subaccounts.clone().unwrap_or_default();
    check_combination(auth.as_ref(), &headers, scope, &exceptions, &mut problems);
    check_urls(&fields, auth.as_ref(), policy, &mut problems).await;
    problems.finish()?;
    match (fields.name, fields.target, fields.events, auth) {
        (Some(name), Some(target), Some(events), Some(auth)) => Ok(NewWebhook {
            name,
            target,
            events,
            active: fields.active.unwrap_or(true),
            auth,
            custom_headers: headers,
            scope,
            exception_subaccounts: exceptions,
        }),
        _ => Err(ApiError::internal("a checked create body lacks a field")),
    }
}

/// A checked update.
#[derive(Debug)]
pub(crate) struct Update {
    /// What to change.
    pub(crate) changes: WebhookChanges,
    /// The webhook as it will be, for the test POST.
    pub(crate) merged: Webhook,
    /// Whether the target or the authentication changes, which calls for a test POST.
    pub(crate) retest: bool,
}

/// Checks an update body against the stored webhook.
pub(crate) async fn update(
    bytes: &[u8],
    stored: &Webhook,
    reach: Reach,
    policy: TargetPolicy,
) -> Result<Update, ApiError> {
    let mut problems = Problems::default();
    let fields = body::read(bytes, &mut problems)?;
    let target_changed = fields.target.as_ref().is_some_and(|t| *t != stored.target);
    let auth = auth_fields::resolve(&fields, Some(&stored.auth), target_changed, &mut problems);
    let scope = match fields
        .subaccount_id
        .and_then(WebhookScope::from_subaccount_id)
    {
        Some(scope) if !reach.may_assign(scope) => {
            problems.add(
                "subaccount_id",
                "subaccount_id names an account this key (or X-MSYS-SUBACCOUNT) cannot reach",
            );
            stored.scope
        }
        Some(scope) => scope,
        None => stored.scope,
    };
    // Exceptions only mean something for "primary and all subaccounts"; moving away from it
    // drops them.
    let exceptions = match &fields.exception_subaccounts {
        Some(given) => given.clone(),
        None if scope != WebhookScope::All => Vec::new(),
        None => stored.exception_subaccounts.clone(),
    };
    let headers = match custom_headers::resolve(
        fields.custom_headers.as_deref(),
        &stored.custom_headers,
        target_changed,
    ) {
        Ok(headers) => headers,
        Err(found) => {
            for problem in found {
                problems.add("custom_headers", problem);
            }
            stored.custom_headers.clone()
        }
    };
    check_combination(auth.as_ref(), &headers, scope, &exceptions, &mut problems);
    let auth_changed = auth.as_ref().is_some_and(|auth| *auth != stored.auth);
    check_urls(
        &fields,
        auth.as_ref().filter(|_| auth_changed),
        policy,
        &mut problems,
    )
    .await;
    problems.finish()?;
    let auth = auth.unwrap_or_else(|| stored.auth.clone());
    let changes = WebhookChanges {
        name: fields.name,
        target: fields.target,
        events: fields.events,
        active: fields.active,
        auth: auth_changed.then(|| auth.clone()),
        custom_headers: fields.custom_headers.is_some().then_some(headers),
        scope: (scope != stored.scope).then_some(scope),
        exception_subaccounts: (exceptions != stored.exception_subaccounts).then_some(exceptions),
    };
    let merged = merge(stored, &changes);
    Ok(Update {
        changes,
        merged,
        retest: target_changed || auth_changed,
    })
}

/// Rules that span fields: reserved headers given the authentication, and exceptions only
/// with the "primary and all subaccounts" scope.
fn check_combination(
    auth: Option<&WebhookAuth>,
    headers: &[(String, String)],
    scope: WebhookScope,
    exceptions: &[u64],
    problems: &mut Problems,
) {
    let auth_in_use = !matches!(auth, None | Some(WebhookAuth::None));
    for problem in custom_headers::reserved_problems(headers, auth_in_use) {
        problems.add("custom_headers", problem);
    }
    if !exceptions.is_empty() && scope != WebhookScope::All {
        problems.add(
            "exception_subaccounts",
            "exception_subaccounts only applies to webhooks for the primary and all subaccounts (subaccount_id -1)",
        );
    }
}

/// The SSRF policy on the target and on a (new) OAuth2 token URL.
async fn check_urls(
    fields: &Fields,
    auth: Option<&WebhookAuth>,
    policy: TargetPolicy,
    problems: &mut Problems,
) {
    if let Some(target) = &fields.target {
        if let Some(reason) = target_check::refusal(target, policy).await {
            problems.add("target", format!("target refused: {reason}"));
        }
    }
    if let Some(WebhookAuth::OAuth2 { url, .. }) = auth {
        if let Some(reason) = target_check::refusal(url, policy).await {
            problems.add(
                "auth_request_details.url",
                format!("token URL refused: {reason}"),
            );
        }
    }
}

fn merge(stored: &Webhook, changes: &WebhookChanges) -> Webhook {
    let mut merged = stored.clone();
    changes.clone().apply_to(&mut merged);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_state::{SigningSecrets, WebhookOwner};
    use serde_json::json;

    const LAX: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    fn stored() -> Webhook {
        Webhook {
            id: "id".into(),
            name: "n".into(),
            target: "http://127.0.0.1:9/old".into(),
            events: vec!["delivery".into()],
            active: true,
            auth: WebhookAuth::Basic {
                username: "u".into(),
                password: "p".into(),
            },
            custom_headers: vec![("x-a".into(), "1".into())],
            scope: WebhookScope::All,
            exception_subaccounts: vec![5],
            signing: SigningSecrets {
                current: "whsec_x".into(),
                previous: None,
            },
            last_successful: None,
            last_failure: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn params(err: ApiError) -> Vec<String> {
        err.errors.into_iter().filter_map(|e| e.param).collect()
    }

    #[tokio::test]
    async fn create_requires_fields_and_takes_the_scope_from_the_reach() {
        let err = new_webhook(b"{}", Reach::Everything, LAX)
            .await
            .unwrap_err();
        assert_eq!(params(err), ["name", "target", "events"]);
        let body = json!({"name": "n", "target": "http://127.0.0.1:1/", "events": ["click"]});
        let created = new_webhook(
            body.to_string().as_bytes(),
            Reach::Owner(WebhookOwner::Subaccount(3)),
            LAX,
        )
        .await
        .unwrap();
        assert_eq!(created.scope, WebhookScope::Subaccount(3));
        assert!(created.active);
        assert_eq!(created.auth, WebhookAuth::None);
    }

    #[tokio::test]
    async fn create_checks_cross_field_rules() {
        let body = json!({
            "name": "n", "target": "http://127.0.0.1:1/", "events": ["click"],
            "auth_type": "basic", "auth_credentials": {"username": "u"},
            "custom_headers": {"Authorization": "x"}, "exception_subaccounts": [1],
            "subaccount_id": 2
        });
        let err = new_webhook(
            body.to_string().as_bytes(),
            Reach::Owner(WebhookOwner::Primary),
            LAX,
        )
        .await
        .unwrap_err();
        assert_eq!(
            params(err),
            ["subaccount_id", "custom_headers", "exception_subaccounts"]
        );
    }

    #[tokio::test]
    async fn strict_policy_refuses_private_targets_and_token_urls() {
        let strict = TargetPolicy::default();
        let body = json!({
            "name": "n", "target": "http://127.0.0.1:1/", "events": ["click"],
            "auth_type": "oauth2",
            "auth_request_details": {"url": "http://localhost:2/token", "body": {}}
        });
        let err = new_webhook(body.to_string().as_bytes(), Reach::Everything, strict)
            .await
            .unwrap_err();
        assert_eq!(params(err), ["target", "auth_request_details.url"]);
    }

    #[tokio::test]
    async fn partial_update_changes_only_what_is_given() {
        let update_of = |body: serde_json::Value| async move {
            update(
                body.to_string().as_bytes(),
                &stored(),
                Reach::Everything,
                LAX,
            )
            .await
        };
        let renamed = update_of(json!({"name": "m"})).await.unwrap();
        assert_eq!(
            renamed.changes,
            WebhookChanges {
                name: Some("m".into()),
                ..Default::default()
            }
        );
        assert!(!renamed.retest);
        assert_eq!(renamed.merged.name, "m");
        assert_eq!(renamed.merged.auth, stored().auth);

        let masked =
            update_of(json!({"auth_credentials": {"username": "u", "password": "********"}}))
                .await
                .unwrap();
        assert_eq!(
            masked.changes.auth, None,
            "echoing the mask changes nothing"
        );
        assert!(!masked.retest);

        let moved = update_of(json!({
            "target": "http://127.0.0.1:9/new", "subaccount_id": 0,
            "auth_credentials": {"username": "u", "password": "p2"},
            "custom_headers": {"x-a": "2"}
        }))
        .await
        .unwrap();
        assert!(moved.retest);
        assert_eq!(moved.changes.scope, Some(WebhookScope::Primary));
        assert_eq!(moved.changes.exception_subaccounts, Some(vec![]));

        let no_auth = update_of(json!({"auth_type": "none"})).await.unwrap();
        assert!(no_auth.retest);
        assert_eq!(no_auth.merged.auth, WebhookAuth::None);
    }

    #[tokio::test]
    async fn update_cannot_move_a_webhook_out_of_reach() {
        let reach = Reach::Owner(WebhookOwner::Primary);
        let body = json!({"subaccount_id": 4});
        let err = update(body.to_string().as_bytes(), &stored(), reach, LAX)
            .await
            .unwrap_err();
        assert_eq!(params(err), ["subaccount_id"]);
    }
}
