//! How a webhook is shown: SparkPost's webhook object, with secrets masked, times in the
//! requested time zone, and the resource links.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use eventhose_state::{Webhook, WebhookAuth};
use eventhose_webhooks::TokenCache;
use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// What a stored secret is shown as. Sent back unchanged in an update, it keeps the secret.
pub(crate) const MASK: &str = "********";

/// The time zone named by the `timezone` query parameter (default UTC).
pub(crate) fn timezone(name: Option<&str>) -> Result<Tz, ApiError> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ApiError::bad_param(
                "timezone",
                format!("unknown time zone `{name}` (use an IANA name such as America/New_York)"),
            )
        }),
    }
}

/// Unix seconds as SparkPost writes `last_successful` and `last_failure`, in `zone`: its list
/// sample (webhooks.apib, "List all Webhooks") shows `"last_successful": "2014-08-01 16:09:15"`.
pub(crate) fn local_time(unix_seconds: i64, zone: Tz) -> Option<String> {
    let utc = Utc.timestamp_opt(unix_seconds, 0).single()?;
    Some(
        utc.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    )
}

/// The link to the webhook itself (what create answers with).
pub(crate) fn self_link(id: &str) -> Value {
    json!({
        "href": format!("/api/v1/webhooks/{id}"),
        "rel": "urn.msys.webhooks.webhook",
        "method": ["GET", "PUT"],
    })
}

/// The link to the webhook's validate endpoint (what update answers with).
pub(crate) fn validate_link(id: &str) -> Value {
    json!({
        "href": format!("/api/v1/webhooks/{id}/validate"),
        "rel": "urn.msys.webhooks.validate",
        "method": ["POST"],
    })
}

/// Every link of a webhook: itself, validate, batch status.
pub(crate) fn links(id: &str) -> Value {
    json!([
        self_link(id),
        validate_link(id),
        {
            "href": format!("/api/v1/webhooks/{id}/batch-status"),
            "rel": "urn.msys.webhooks.batches",
            "method": ["GET"],
        },
    ])
}

/// SparkPost's webhook object for `webhook`, secrets masked. For OAuth2, `auth_credentials`
/// shows the lifetime left of the token `tokens` holds (the token itself masked).
///
/// The fields, their order and their forms follow SparkPost's samples (webhooks.apib, "Retrieve
/// a Webhook" and "List all Webhooks"): `auth_request_details` and `auth_credentials` are `{}`
/// when the authentication has none (`"auth_type": "none", "auth_request_details": {},
/// "auth_credentials": {}`), `auth_token` is always there (`"auth_token": ""` when unset),
/// `exception_subaccounts` lists ids as strings (`"exception_subaccounts": ["123"]`), and
/// `last_successful`/`last_failure` read `"2014-08-01 16:09:15"`. SparkPost shows
/// `auth_token` in clear (`"auth_token": "5ebe2294ecd0e0f08eab7690d2a6ee69"`); here it is a
/// secret like the password, shown as the mask.
pub(crate) fn webhook(webhook: &Webhook, zone: Tz, tokens: &TokenCache) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(webhook.id));
    object.insert("name".into(), json!(webhook.name));
    object.insert("target".into(), json!(webhook.target));
    object.insert("events".into(), json!(webhook.events));
    let exceptions: Vec<String> = webhook
        .exception_subaccounts
        .iter()
        .map(u64::to_string)
        .collect();
    object.insert("exception_subaccounts".into(), json!(exceptions));
    object.insert("subaccount_id".into(), json!(webhook.scope.subaccount_id()));
    object.insert("auth_type".into(), json!(webhook.auth.auth_type()));
    let (details, credentials) = match &webhook.auth {
        WebhookAuth::None => (json!({}), json!({})),
        WebhookAuth::Basic { username, password } => {
            let shown = if password.is_empty() { "" } else { MASK };
            (
                json!({}),
                json!({ "username": username, "password": shown }),
            )
        }
        WebhookAuth::OAuth2 { url, body } => {
            let token = match tokens.cached_expiry(&webhook.id) {
                Some(expires_in) => json!({ "access_token": MASK, "expires_in": expires_in }),
                None => json!({}),
            };
            (json!({ "url": url, "body": masked(body) }), token)
        }
    };
    object.insert("auth_request_details".into(), details);
    object.insert("auth_credentials".into(), credentials);
    let token = match webhook.auth_token.as_deref() {
        None | Some("") => "",
        Some(_) => MASK,
    };
    object.insert("auth_token".into(), json!(token));
    for (field, at) in [
        ("last_successful", webhook.last_successful),
        ("last_failure", webhook.last_failure),
    ] {
        if let Some(shown) = at.and_then(|at| local_time(at, zone)) {
            object.insert(field.into(), json!(shown));
        }
    }
    object.insert(
        "custom_headers".into(),
        Value::Object(masked_headers(&webhook.custom_headers)),
    );
    object.insert("active".into(), json!(webhook.active));
    object.insert("links".into(), links(&webhook.id));
    Value::Object(object)
}

/// Custom headers as shown: names kept, values masked (an empty value stays empty).
///
/// SparkPost shows the values: its reference answers a retrieve with
/// `"custom_headers": {"x-api-key": "abcd"}`. Such headers usually carry tokens, so here they
/// are secrets like the basic password: every key with `webhooks/view` could read them
/// otherwise. As with the password, sending the mask back in an update keeps the stored value
/// (only while the target does not change).
fn masked_headers(headers: &[(String, String)]) -> Map<String, Value> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_empty() { "" } else { MASK };
            (name.clone(), json!(shown))
        })
        .collect()
}

/// The fields of an OAuth2 request body shown as they are; every other one (`client_secret`,
/// passwords, refresh tokens, assertions, API keys, nested values…) is masked whole. A list of
/// what may be shown, not of what to hide: a secret under a name nobody thought of stays hidden.
const PLAIN_BODY_FIELDS: &[&str] = &["grant_type", "client_id", "scope", "audience", "resource"];

/// An OAuth2 request body with every field but [`PLAIN_BODY_FIELDS`] masked.
fn masked(body: &Map<String, Value>) -> Map<String, Value> {
    body.iter()
        .map(|(key, value)| {
            let plain = PLAIN_BODY_FIELDS.contains(&key.to_ascii_lowercase().as_str());
            let shown = if plain { value.clone() } else { json!(MASK) };
            (key.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_state::{SigningSecrets, WebhookScope};

    fn sample(auth: WebhookAuth) -> Webhook {
        Webhook {
            id: "abc".into(),
            name: "n".into(),
            target: "https://t.example/".into(),
            events: vec!["delivery".into()],
            active: true,
            auth,
            custom_headers: vec![("x-b".into(), "2".into()), ("x-a".into(), "1".into())],
            auth_token: None,
            scope: WebhookScope::Primary,
            exception_subaccounts: vec![],
            signing: SigningSecrets {
                current: "whsec_secret".into(),
                previous: None,
            },
            last_successful: Some(1_406_909_355),
            last_failure: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn view_key_cannot_read_oauth_secrets_under_unusual_names() {
        let body = json!({"client_id": "id", "refresh_token": "r1", "api_key": "k1",
            "client_assertion": "a1", "nested": {"token": "n1"}, "scope": "events"});
        let shown = masked(body.as_object().unwrap());
        assert_eq!(
            Value::Object(shown),
            json!({"client_id": "id", "refresh_token": MASK, "api_key": MASK,
                "client_assertion": MASK, "nested": MASK, "scope": "events"})
        );
    }

    #[test]
    fn secrets_are_masked_and_never_shown() {
        let basic = webhook(
            &sample(WebhookAuth::Basic {
                username: "u".into(),
                password: "hunter2".into(),
            }),
            Tz::UTC,
            &TokenCache::new(),
        );
        assert_eq!(
            basic["auth_credentials"],
            json!({"username": "u", "password": MASK})
        );
        let oauth = webhook(
            &sample(WebhookAuth::OAuth2 {
                url: "https://a.example/token".into(),
                body: json!({"client_id": "id", "client_secret": "s3", "grant_type": "client_credentials"})
                    .as_object()
                    .unwrap()
                    .clone(),
            }),
            Tz::UTC,
            &TokenCache::new(),
        );
        assert_eq!(
            oauth["auth_request_details"]["body"],
            json!({"client_id": "id", "client_secret": MASK, "grant_type": "client_credentials"})
        );
        for shown in [basic.to_string(), oauth.to_string()] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("s3\"") && !shown.contains("whsec_")
            );
        }
    }

    #[test]
    fn auth_token_is_masked_and_exceptions_are_strings() {
        let mut hook = sample(WebhookAuth::None);
        hook.auth_token = Some("5ebe2294ecd0e0f08eab7690d2a6ee69".into());
        hook.scope = WebhookScope::All;
        hook.exception_subaccounts = vec![123, 7];
        let shown = webhook(&hook, Tz::UTC, &TokenCache::new());
        assert_eq!(shown["auth_token"], MASK);
        assert!(!shown.to_string().contains("5ebe2294"));
        assert_eq!(shown["exception_subaccounts"], json!(["123", "7"]));
        assert_eq!(shown["subaccount_id"], -1);
    }

    #[test]
    fn view_key_cannot_read_custom_header_values() {
        let mut hook = sample(WebhookAuth::None);
        hook.custom_headers = vec![
            ("X-Api-Key".into(), "tok-abc123".into()),
            ("X-Empty".into(), String::new()),
        ];
        let shown = webhook(&hook, Tz::UTC, &TokenCache::new());
        assert_eq!(
            shown["custom_headers"],
            json!({"X-Api-Key": MASK, "X-Empty": ""})
        );
        assert!(!shown.to_string().contains("tok-abc123"));
    }

    #[test]
    fn sparkpost_fields_and_order() {
        let shown = webhook(&sample(WebhookAuth::None), Tz::UTC, &TokenCache::new());
        assert_eq!(shown["subaccount_id"], 0);
        assert_eq!(shown["auth_type"], "none");
        assert_eq!(shown["last_successful"], "2014-08-01 16:09:15");
        assert!(shown.get("last_failure").is_none());
        assert_eq!(shown["auth_request_details"], json!({}));
        assert_eq!(shown["auth_credentials"], json!({}));
        assert_eq!(shown["auth_token"], "");
        let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "target",
                "events",
                "exception_subaccounts",
                "subaccount_id",
                "auth_type",
                "auth_request_details",
                "auth_credentials",
                "auth_token",
                "last_successful",
                "custom_headers",
                "active",
                "links"
            ]
        );
        let header_names: Vec<_> = shown["custom_headers"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(header_names, ["x-b", "x-a"]);
        assert_eq!(shown["links"][0]["href"], "/api/v1/webhooks/abc");
        assert_eq!(shown["links"][2]["rel"], "urn.msys.webhooks.batches");
    }

    #[test]
    fn times_follow_the_requested_zone() {
        let zone = timezone(Some("America/New_York")).unwrap();
        assert_eq!(
            local_time(1_406_909_355, zone).unwrap(),
            "2014-08-01 12:09:15"
        );
        assert_eq!(timezone(None).unwrap(), Tz::UTC);
        let err = timezone(Some("Mars/Olympus")).unwrap_err();
        assert_eq!(err.errors[0].param.as_deref(), Some("timezone"));
    }
}
