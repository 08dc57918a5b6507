//! `auth_type`, `auth_credentials` and `auth_request_details` into a [`WebhookAuth`], with the
//! masked secrets of an earlier answer standing for the stored values.

use eventhose_state::WebhookAuth;
use serde_json::{Map, Value};

use super::body::{AuthType, Fields, Problems};
use super::view::MASK;

/// The authentication a body asks for, given what is stored (`None` on create). On update,
/// a body without any auth field keeps the stored authentication; details left out keep the
/// stored ones when the type does not change. `None` when something is wrong (recorded).
pub(crate) fn resolve(
    fields: &Fields,
    stored: Option<&WebhookAuth>,
    problems: &mut Problems,
) -> Option<WebhookAuth> {
    if !fields.mentions_auth() {
        return Some(stored.cloned().unwrap_or(WebhookAuth::None));
    }
    let auth_type = fields
        .auth_type
        .or_else(|| stored.map(auth_type_of))
        .unwrap_or(AuthType::None);
    match auth_type {
        AuthType::None => Some(WebhookAuth::None),
        AuthType::Basic => match (&fields.auth_credentials, stored) {
            (Some(credentials), _) => basic(credentials, stored, problems),
            (None, Some(kept @ WebhookAuth::Basic { .. })) => Some(kept.clone()),
            (None, _) => {
                problems.add(
                    "auth_credentials",
                    "auth_credentials with a username is required when auth_type is basic",
                );
                None
            }
        },
        AuthType::OAuth2 => match (&fields.auth_request_details, stored) {
            (Some(details), _) => oauth2(details, stored, problems),
            (None, Some(kept @ WebhookAuth::OAuth2 { .. })) => Some(kept.clone()),
            (None, _) => {
                problems.add(
                    "auth_request_details",
                    "auth_request_details with url and body is required when auth_type is oauth2",
                );
                None
            }
        },
    }
}

fn auth_type_of(auth: &WebhookAuth) -> AuthType {
    match auth {
        WebhookAuth::None => AuthType::None,
        WebhookAuth::Basic { .. } => AuthType::Basic,
        WebhookAuth::OAuth2 { .. } => AuthType::OAuth2,
    }
}

fn basic(
    credentials: &Map<String, Value>,
    stored: Option<&WebhookAuth>,
    problems: &mut Problems,
) -> Option<WebhookAuth> {
    let username = match credentials.get("username").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => Some(name.to_string()),
        _ => {
            problems.add(
                "auth_credentials.username",
                "auth_credentials.username is required when auth_type is basic",
            );
            None
        }
    };
    let password = match credentials.get("password") {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(given)) if given == MASK => match stored {
            Some(WebhookAuth::Basic { password, .. }) => Some(password.clone()),
            _ => Some(given.clone()),
        },
        Some(Value::String(given)) => Some(given.clone()),
        Some(_) => {
            problems.add(
                "auth_credentials.password",
                "auth_credentials.password must be a string",
            );
            None
        }
    };
    Some(WebhookAuth::Basic {
        username: username?,
        password: password?,
    })
}

fn oauth2(
    details: &Map<String, Value>,
    stored: Option<&WebhookAuth>,
    problems: &mut Problems,
) -> Option<WebhookAuth> {
    let url = match details.get("url").and_then(Value::as_str) {
        Some(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ => {
            problems.add(
                "auth_request_details.url",
                "auth_request_details.url (the token URL) is required when auth_type is oauth2",
            );
            None
        }
    };
    let body = match details.get("body").and_then(Value::as_object) {
        Some(body) => Some(unmask(body, stored)),
        None => {
            problems.add(
                "auth_request_details.body",
                "auth_request_details.body must be an object (e.g. client_id, client_secret, grant_type)",
            );
            None
        }
    };
    Some(WebhookAuth::OAuth2 {
        url: url?,
        body: body?,
    })
}

/// Puts the stored value back wherever `body` echoes the mask.
fn unmask(body: &Map<String, Value>, stored: Option<&WebhookAuth>) -> Map<String, Value> {
    let stored_body = match stored {
        Some(WebhookAuth::OAuth2 { body, .. }) => Some(body),
        _ => None,
    };
    body.iter()
        .map(|(key, value)| {
            let kept = stored_body
                .filter(|_| value.as_str() == Some(MASK))
                .and_then(|stored| stored.get(key));
            (key.clone(), kept.unwrap_or(value).clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(
        auth_type: Option<AuthType>,
        credentials: Option<Value>,
        details: Option<Value>,
    ) -> Fields {
        Fields {
            auth_type,
            auth_credentials: credentials.and_then(|v| v.as_object().cloned()),
            auth_request_details: details.and_then(|v| v.as_object().cloned()),
            ..Fields::default()
        }
    }

    fn basic_auth(password: &str) -> WebhookAuth {
        WebhookAuth::Basic {
            username: "u".into(),
            password: password.into(),
        }
    }

    #[test]
    fn nothing_said_keeps_the_stored_auth() {
        let mut problems = Problems::default();
        let stored = basic_auth("p");
        let resolved = resolve(&Fields::default(), Some(&stored), &mut problems);
        assert_eq!(resolved, Some(stored));
        assert_eq!(
            resolve(&Fields::default(), None, &mut problems),
            Some(WebhookAuth::None)
        );
        assert!(problems.finish().is_ok());
    }

    #[test]
    fn the_mask_keeps_stored_secrets() {
        let mut problems = Problems::default();
        let stored = basic_auth("secret");
        let echoed = fields(None, Some(json!({"username": "v", "password": MASK})), None);
        assert_eq!(
            resolve(&echoed, Some(&stored), &mut problems),
            Some(WebhookAuth::Basic {
                username: "v".into(),
                password: "secret".into()
            })
        );
        let stored_oauth = WebhookAuth::OAuth2 {
            url: "https://a.example/token".into(),
            body: json!({"client_id": "id", "client_secret": "s3"})
                .as_object()
                .unwrap()
                .clone(),
        };
        let echoed = fields(
            None,
            None,
            Some(
                json!({"url": "https://b.example/token", "body": {"client_id": "id2", "client_secret": MASK}}),
            ),
        );
        let WebhookAuth::OAuth2 { url, body } =
            resolve(&echoed, Some(&stored_oauth), &mut problems).unwrap()
        else {
            panic!("not oauth2");
        };
        assert_eq!(url, "https://b.example/token");
        assert_eq!(
            body,
            *json!({"client_id": "id2", "client_secret": "s3"})
                .as_object()
                .unwrap()
        );
        assert!(problems.finish().is_ok());
    }

    #[test]
    fn required_details_are_named() {
        let mut problems = Problems::default();
        assert!(resolve(
            &fields(Some(AuthType::Basic), None, None),
            None,
            &mut problems
        )
        .is_none());
        assert!(resolve(
            &fields(Some(AuthType::Basic), Some(json!({"password": 1})), None),
            None,
            &mut problems
        )
        .is_none());
        assert!(resolve(
            &fields(Some(AuthType::OAuth2), None, Some(json!({"url": ""}))),
            Some(&basic_auth("p")),
            &mut problems
        )
        .is_none());
        let params = problems.params();
        assert_eq!(
            params,
            [
                "auth_credentials",
                "auth_credentials.username",
                "auth_credentials.password",
                "auth_request_details.url",
                "auth_request_details.body"
            ]
        );
    }

    #[test]
    fn switching_type_to_none_drops_details() {
        let mut problems = Problems::default();
        let resolved = resolve(
            &fields(Some(AuthType::None), None, None),
            Some(&basic_auth("p")),
            &mut problems,
        );
        assert_eq!(resolved, Some(WebhookAuth::None));
    }
}
