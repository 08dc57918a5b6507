//! `auth_type`, `auth_credentials` and `auth_request_details` into a [`WebhookAuth`], with the
//! masked secrets of an earlier answer standing for the stored values.
//!
//! Stored secrets are only ever sent where they were sent before. When the target moves (or,
//! for OAuth2, the token URL), the credentials must be given again in full: the mask is then
//! refused, and so is leaving the stored credentials out. Otherwise a key that may change a
//! webhook but never saw its secrets could point it at its own host and receive them with the
//! test POST.

use eventhose_state::WebhookAuth;
use serde_json::{Map, Value};

use super::body::{AuthType, Fields, Problems};
use super::view::MASK;

/// The authentication a body asks for, given what is stored (`None` on create) and whether
/// the target changes (`target_moved`). On update, a body without any auth field keeps the
/// stored authentication; details left out keep the stored ones when the type does not
/// change. Neither holds when the target moves and the stored authentication has a secret.
/// `None` when something is wrong (recorded).
pub(crate) fn resolve(
    fields: &Fields,
    stored: Option<&WebhookAuth>,
    target_moved: bool,
    problems: &mut Problems,
) -> Option<WebhookAuth> {
    if !fields.mentions_auth() {
        let kept = stored.cloned().unwrap_or(WebhookAuth::None);
        return keep(kept, target_moved, problems);
    }
    let auth_type = fields
        .auth_type
        .or_else(|| stored.map(auth_type_of))
        .unwrap_or(AuthType::None);
    match auth_type {
        AuthType::None => Some(WebhookAuth::None),
        AuthType::Basic => match (&fields.auth_credentials, stored) {
            (Some(credentials), _) => basic(credentials, stored, target_moved, problems),
            (None, Some(kept @ WebhookAuth::Basic { .. })) => {
                keep(kept.clone(), target_moved, problems)
            }
            (None, _) => {
                problems.add(
                    "auth_credentials",
                    "auth_credentials with a username is required when auth_type is basic",
                );
                None
            }
        },
        AuthType::OAuth2 => match (&fields.auth_request_details, stored) {
            (Some(details), _) => oauth2(details, stored, target_moved, problems),
            (None, Some(kept @ WebhookAuth::OAuth2 { .. })) => {
                keep(kept.clone(), target_moved, problems)
            }
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

/// The stored authentication, kept as it is: refused (recorded) when the target moves and it
/// holds a secret that would go to the new target.
fn keep(kept: WebhookAuth, target_moved: bool, problems: &mut Problems) -> Option<WebhookAuth> {
    if !target_moved {
        return Some(kept);
    }
    match &kept {
        WebhookAuth::Basic { password, .. } if !password.is_empty() => {
            problems.add(
                "auth_credentials",
                "auth_credentials (username and password) must be given again when target changes",
            );
            None
        }
        WebhookAuth::OAuth2 { .. } => {
            problems.add(
                "auth_request_details",
                "auth_request_details (url and body) must be given again when target changes",
            );
            None
        }
        _ => Some(kept),
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
    target_moved: bool,
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
            Some(WebhookAuth::Basic { .. }) if target_moved => {
                problems.add(
                    "auth_credentials.password",
                    "auth_credentials.password must be given in full (not masked) when target changes",
                );
                None
            }
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
    target_moved: bool,
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
    let stored = match stored {
        Some(WebhookAuth::OAuth2 { url, body }) => Some((url.as_str(), body)),
        _ => None,
    };
    // The stored secrets stay where they were sent: to the same token URL, and the token to the
    // same target.
    let moved = target_moved || stored.map(|(stored_url, _)| stored_url) != url.as_deref();
    let body = match details.get("body").and_then(Value::as_object) {
        Some(body) => unmask(body, stored.map(|(_, body)| body), moved, problems),
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

/// Puts the stored value back wherever `body` echoes the mask; when the secrets would go to a
/// new URL (`moved`), an echoed mask is refused instead (recorded, `None`).
fn unmask(
    body: &Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    moved: bool,
    problems: &mut Problems,
) -> Option<Map<String, Value>> {
    let mut unmasked = Map::new();
    let mut ok = true;
    for (key, value) in body {
        let kept = stored
            .filter(|_| value.as_str() == Some(MASK))
            .and_then(|stored| stored.get(key));
        match kept {
            Some(_) if moved => {
                problems.add(
                    &format!("auth_request_details.body.{key}"),
                    format!(
                        "auth_request_details.body.{key} must be given in full (not masked) when target or auth_request_details.url changes"
                    ),
                );
                ok = false;
            }
            Some(kept) => {
                unmasked.insert(key.clone(), kept.clone());
            }
            None => {
                unmasked.insert(key.clone(), value.clone());
            }
        }
    }
    ok.then_some(unmasked)
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
        let resolved = resolve(&Fields::default(), Some(&stored), false, &mut problems);
        assert_eq!(resolved, Some(stored));
        assert_eq!(
            resolve(&Fields::default(), None, false, &mut problems),
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
            resolve(&echoed, Some(&stored), false, &mut problems),
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
                json!({"url": "https://a.example/token", "body": {"client_id": "id2", "client_secret": MASK}}),
            ),
        );
        let WebhookAuth::OAuth2 { url, body } =
            resolve(&echoed, Some(&stored_oauth), false, &mut problems).unwrap()
        else {
            panic!("not oauth2");
        };
        assert_eq!(url, "https://a.example/token");
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
            false,
            &mut problems
        )
        .is_none());
        assert!(resolve(
            &fields(Some(AuthType::Basic), Some(json!({"password": 1})), None),
            None,
            false,
            &mut problems
        )
        .is_none());
        assert!(resolve(
            &fields(Some(AuthType::OAuth2), None, Some(json!({"url": ""}))),
            Some(&basic_auth("p")),
            false,
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
            false,
            &mut problems,
        );
        assert_eq!(resolved, Some(WebhookAuth::None));
    }

    fn oauth(url: &str, secret: &str) -> WebhookAuth {
        WebhookAuth::OAuth2 {
            url: url.into(),
            body: json!({"client_id": "id", "client_secret": secret})
                .as_object()
                .unwrap()
                .clone(),
        }
    }

    #[test]
    fn masked_password_cannot_follow_a_moved_target() {
        let mut problems = Problems::default();
        let echoed = fields(None, Some(json!({"username": "u", "password": MASK})), None);
        assert_eq!(
            resolve(&echoed, Some(&basic_auth("secret")), true, &mut problems),
            None
        );
        assert_eq!(problems.params(), ["auth_credentials.password"]);
        let mut problems = Problems::default();
        let given = fields(
            None,
            Some(json!({"username": "u", "password": "new"})),
            None,
        );
        assert_eq!(
            resolve(&given, Some(&basic_auth("secret")), true, &mut problems),
            Some(basic_auth("new"))
        );
        assert!(problems.finish().is_ok());
    }

    #[test]
    fn stored_credentials_left_out_cannot_follow_a_moved_target() {
        let mut problems = Problems::default();
        assert_eq!(
            resolve(
                &Fields::default(),
                Some(&basic_auth("secret")),
                true,
                &mut problems
            ),
            None
        );
        let basic_only = fields(Some(AuthType::Basic), None, None);
        assert_eq!(
            resolve(
                &basic_only,
                Some(&basic_auth("secret")),
                true,
                &mut problems
            ),
            None
        );
        let stored = oauth("https://a.example/token", "s3");
        assert_eq!(
            resolve(&Fields::default(), Some(&stored), true, &mut problems),
            None
        );
        assert_eq!(
            problems.params(),
            [
                "auth_credentials",
                "auth_credentials",
                "auth_request_details"
            ]
        );
        // Nothing secret to carry: a moved target keeps no authentication, or a user name alone.
        let mut problems = Problems::default();
        assert_eq!(
            resolve(
                &Fields::default(),
                Some(&WebhookAuth::None),
                true,
                &mut problems
            ),
            Some(WebhookAuth::None)
        );
        assert_eq!(
            resolve(
                &Fields::default(),
                Some(&basic_auth("")),
                true,
                &mut problems
            ),
            Some(basic_auth(""))
        );
        assert!(problems.finish().is_ok());
    }

    #[test]
    fn masked_client_secret_cannot_follow_a_moved_token_url_or_target() {
        let stored = oauth("https://a.example/token", "s3");
        let echo = |url: &str| {
            fields(
                None,
                None,
                Some(json!({"url": url, "body": {"client_id": "id", "client_secret": MASK}})),
            )
        };
        for (url, target_moved) in [
            ("https://attacker.example/token", false),
            ("https://a.example/token", true),
        ] {
            let mut problems = Problems::default();
            assert_eq!(
                resolve(&echo(url), Some(&stored), target_moved, &mut problems),
                None,
                "{url} {target_moved}"
            );
            assert_eq!(
                problems.params(),
                ["auth_request_details.body.client_secret"]
            );
        }
        let mut problems = Problems::default();
        assert_eq!(
            resolve(
                &echo("https://a.example/token"),
                Some(&stored),
                false,
                &mut problems
            ),
            Some(stored.clone())
        );
        assert!(problems.finish().is_ok());
    }
}
