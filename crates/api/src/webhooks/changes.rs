//! From a request body to what the store is asked to do: a new webhook, or the changes to a
//! stored one, after every rule is checked.

use eventhose_state::{NewWebhook, Webhook, WebhookAuth, WebhookChanges, WebhookScope};
use eventhose_webhooks::TargetPolicy;

use super::body::{self, Fields, Problems};
use super::reach::Reach;
use super::{auth_fields, auth_token, custom_headers, target_check, TargetRules};
use crate::error::ApiError;

/// Checks a create body; the new webhook's scope comes from the caller's reach.
pub(crate) async fn new_webhook(
    bytes: &[u8],
    reach: Reach,
    policy: TargetPolicy,
    rules: TargetRules,
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
    let token = fields.auth_token.as_deref().filter(|t| !t.is_empty());
    let headers = fields.custom_headers.clone().unwrap_or_default();
    let scope = reach.create_scope();
    let exceptions = fields.exception_subaccounts.clone().unwrap_or_default();
    let combination = Combination {
        auth: auth.as_ref(),
        token_in_use: token.is_some(),
        headers: &headers,
        scope,
        exceptions: &exceptions,
    };
    check_combination(&combination, &mut problems);
    let auth_token = token.map(String::from);
    check_urls(&fields, auth.as_ref(), (policy, rules), &mut problems).await;
    problems.finish()?;
    match (fields.name, fields.target, fields.events, auth) {
        (Some(name), Some(target), Some(events), Some(auth)) => Ok(NewWebhook {
            name,
            target,
            events,
            active: fields.active.unwrap_or(true),
            auth,
            custom_headers: headers,
            auth_token,
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
    /// Whether the target, the authentication or the `auth_token` changes, which calls for a
    /// test POST.
    pub(crate) retest: bool,
}

/// Checks an update body against the stored webhook.
pub(crate) async fn update(
    bytes: &[u8],
    stored: &Webhook,
    reach: Reach,
    policy: TargetPolicy,
    rules: TargetRules,
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
    let token = auth_token::resolve(
        fields.auth_token.as_deref(),
        stored.auth_token.as_deref(),
        target_changed,
    )
    .unwrap_or_else(|problem| {
        problems.add("auth_token", problem);
        stored.auth_token.clone()
    });
    let combination = Combination {
        auth: auth.as_ref(),
        token_in_use: token.is_some(),
        headers: &headers,
        scope,
        exceptions: &exceptions,
    };
    check_combination(&combination, &mut problems);
    let token_changed = token != stored.auth_token;
    let auth_changed = auth.as_ref().is_some_and(|auth| *auth != stored.auth);
    check_urls(
        &fields,
        auth.as_ref().filter(|_| auth_changed),
        (policy, rules),
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
        auth_token: token_changed.then_some(token),
        scope: (scope != stored.scope).then_some(scope),
        exception_subaccounts: (exceptions != stored.exception_subaccounts).then_some(exceptions),
    };
    let merged = merge(stored, &changes);
    Ok(Update {
        changes,
        merged,
        retest: target_changed || auth_changed || token_changed,
    })
}

/// The fields whose rules span several of them, as the webhook will have them.
struct Combination<'a> {
    auth: Option<&'a WebhookAuth>,
    token_in_use: bool,
    headers: &'a [(String, String)],
    scope: WebhookScope,
    exceptions: &'a [u64],
}

/// Rules that span fields: reserved headers given the authentication and `auth_token`, and
/// exceptions only with the "primary and all subaccounts" scope.
fn check_combination(combination: &Combination<'_>, problems: &mut Problems) {
    let auth_in_use = !matches!(combination.auth, None | Some(WebhookAuth::None));
    for problem in custom_headers::reserved_problems(
        combination.headers,
        auth_in_use,
        combination.token_in_use,
    ) {
        problems.add("custom_headers", problem);
    }
    if !combination.exceptions.is_empty() && combination.scope != WebhookScope::All {
        problems.add(
            "exception_subaccounts",
            "exception_subaccounts only applies to webhooks for the primary and all subaccounts (subaccount_id -1)",
        );
    }
}

/// The SSRF policy on the target and on a (new) OAuth2 token URL, and SparkPost's port rule
/// on the target.
async fn check_urls(
    fields: &Fields,
    auth: Option<&WebhookAuth>,
    (policy, rules): (TargetPolicy, TargetRules),
    problems: &mut Problems,
) {
    if let Some(target) = &fields.target {
        let refusal = match target_check::refusal(target, policy).await {
            Some(reason) => Some(reason),
            None => target_check::port_refusal(target, rules),
        };
        if let Some(reason) = refusal {
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

    /// Loopback test targets listen on any port.
    const ANY_PORT: TargetRules = TargetRules {
        any_port: true,
        test_post_any_2xx: false,
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
            auth_token: None,
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
        let err = new_webhook(b"{}", Reach::Everything, LAX, ANY_PORT)
            .await
            .unwrap_err();
        assert_eq!(params(err), ["name", "target", "events"]);
        let body = json!({"name": "n", "target": "http://127.0.0.1:1/", "events": ["click"]});
        let created = new_webhook(
            body.to_string().as_bytes(),
            Reach::Owner(WebhookOwner::Subaccount(3)),
            LAX,
            ANY_PORT,
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
            ANY_PORT,
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
        let err = new_webhook(
            body.to_string().as_bytes(),
            Reach::Everything,
            strict,
            ANY_PORT,
        )
        .await
        .unwrap_err();
        assert_eq!(params(err), ["target", "auth_request_details.url"]);
    }

    #[tokio::test]
    async fn sparkpost_rules_refuse_non_standard_ports_on_create_and_update() {
        let sparkpost = TargetRules::default();
        let body = json!({"name": "n", "target": "http://127.0.0.1:8080/", "events": ["click"]});
        let err = new_webhook(
            body.to_string().as_bytes(),
            Reach::Everything,
            LAX,
            sparkpost,
        )
        .await
        .unwrap_err();
        assert_eq!(params(err), ["target"]);
        let body = json!({"name": "n", "target": "http://127.0.0.1/", "events": ["click"]});
        assert!(new_webhook(
            body.to_string().as_bytes(),
            Reach::Everything,
            LAX,
            sparkpost
        )
        .await
        .is_ok());
        let body = json!({"target": "https://127.0.0.1:8443/"});
        let err = update(
            body.to_string().as_bytes(),
            &stored(),
            Reach::Everything,
            LAX,
            sparkpost,
        )
        .await
        .unwrap_err();
        assert!(params(err).contains(&"target".to_string()));
    }

    #[tokio::test]
    async fn auth_token_is_kept_cleared_and_not_carried_to_a_new_target() {
        let body = json!({
            "name": "n", "target": "http://127.0.0.1:1/", "events": ["click"],
            "auth_token": "t1", "custom_headers": {"X-MessageSystems-Webhook-Token": "x"}
        });
        let err = new_webhook(
            body.to_string().as_bytes(),
            Reach::Everything,
            LAX,
            ANY_PORT,
        )
        .await
        .unwrap_err();
        assert_eq!(
            params(err),
            ["custom_headers"],
            "the token's header is reserved"
        );
        let body = json!({"name": "n", "target": "http://127.0.0.1:1/", "events": ["click"],
            "auth_token": "t1"});
        let created = new_webhook(
            body.to_string().as_bytes(),
            Reach::Everything,
            LAX,
            ANY_PORT,
        )
        .await
        .unwrap();
        assert_eq!(created.auth_token.as_deref(), Some("t1"));

        let mut tokened = stored();
        tokened.auth = WebhookAuth::None;
        tokened.auth_token = Some("t1".into());
        let update_of = |body: serde_json::Value| {
            let tokened = tokened.clone();
            async move {
                update(
                    body.to_string().as_bytes(),
                    &tokened,
                    Reach::Everything,
                    LAX,
                    ANY_PORT,
                )
                .await
            }
        };
        let masked = update_of(json!({"auth_token": "********"})).await.unwrap();
        assert_eq!(masked.changes.auth_token, None, "the mask keeps the token");
        assert!(!masked.retest);
        let changed = update_of(json!({"auth_token": "t2"})).await.unwrap();
        assert_eq!(changed.changes.auth_token, Some(Some("t2".into())));
        assert!(changed.retest, "a new token is tested");
        let cleared = update_of(json!({"auth_token": ""})).await.unwrap();
        assert_eq!(cleared.changes.auth_token, Some(None));
        let moved = json!({"target": "http://127.0.0.1:9/new", "custom_headers": {}});
        let err = update_of(moved).await.unwrap_err();
        assert_eq!(params(err), ["auth_token"]);
        let moved = json!({"target": "http://127.0.0.1:9/new", "custom_headers": {},
            "auth_token": "********"});
        assert_eq!(params(update_of(moved).await.unwrap_err()), ["auth_token"]);
        let moved = json!({"target": "http://127.0.0.1:9/new", "custom_headers": {},
            "auth_token": "t3"});
        assert_eq!(
            update_of(moved).await.unwrap().merged.auth_token.as_deref(),
            Some("t3")
        );
    }

    #[tokio::test]
    async fn partial_update_changes_only_what_is_given() {
        let update_of = |body: serde_json::Value| async move {
            update(
                body.to_string().as_bytes(),
                &stored(),
                Reach::Everything,
                LAX,
                ANY_PORT,
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
        let err = update(body.to_string().as_bytes(), &stored(), reach, LAX, ANY_PORT)
            .await
            .unwrap_err();
        assert_eq!(params(err), ["subaccount_id"]);
    }
}
