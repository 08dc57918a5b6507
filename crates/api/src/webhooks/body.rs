//! Reading a create or update body: every field's shape is checked and every problem is
//! collected, each naming its field, so one answer lists all that is wrong.

use axum::http::StatusCode;
use eventhose_model::{EventType, MAX_SUBACCOUNT_ID};
use serde_json::{Map, Value};

use super::custom_headers;
use crate::error::{ApiError, ErrorEntry};

/// Longest webhook name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 1024;

/// Most exception subaccounts a webhook may list.
pub(crate) const MAX_EXCEPTION_SUBACCOUNTS: usize = 10;

/// Problems found so far, each naming its field.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ErrorEntry>);

impl Problems {
    /// Records that `param` is wrong.
    pub(crate) fn add(&mut self, param: &str, description: impl Into<String>) {
        self.0.push(
            ErrorEntry::new("invalid params")
                .description(description)
                .code("1200")
                .param(param),
        );
    }

    /// Whether a problem with `param` was recorded.
    pub(crate) fn names(&self, param: &str) -> bool {
        self.0.iter().any(|e| e.param.as_deref() == Some(param))
    }

    /// The fields named so far, in order.
    #[cfg(test)]
    pub(crate) fn params(&self) -> Vec<String> {
        self.0.iter().filter_map(|e| e.param.clone()).collect()
    }

    /// `Ok` when nothing was found, else a 400 listing everything.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                errors: self.0,
                retry_after: None,
            })
        }
    }
}

/// SparkPost's `auth_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthType {
    /// `none`
    None,
    /// `basic`
    Basic,
    /// `oauth2`
    OAuth2,
}

/// The fields a body gave (`None` = absent or `null`), each of the right shape.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) name: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) events: Option<Vec<String>>,
    pub(crate) active: Option<bool>,
    pub(crate) auth_type: Option<AuthType>,
    pub(crate) auth_request_details: Option<Map<String, Value>>,
    pub(crate) auth_credentials: Option<Map<String, Value>>,
    pub(crate) custom_headers: Option<Vec<(String, String)>>,
    pub(crate) exception_subaccounts: Option<Vec<u64>>,
    pub(crate) subaccount_id: Option<i64>,
    /// `Some("")` asks for no token.
    pub(crate) auth_token: Option<String>,
}

impl Fields {
    /// Whether the body touches authentication at all.
    pub(crate) fn mentions_auth(&self) -> bool {
        self.auth_type.is_some()
            || self.auth_request_details.is_some()
            || self.auth_credentials.is_some()
    }
}

/// Parses `body` as a JSON object and checks each known field's shape, recording problems.
/// Unknown fields are ignored, as SparkPost does. A body that is not a JSON object is a 400.
pub(crate) fn read(body: &[u8], problems: &mut Problems) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_param("body", format!("the body must be a JSON object: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_param(
            "body",
            "the body must be a JSON object",
        ));
    };
    let field = |name: &str| object.get(name).filter(|value| !value.is_null());
    Ok(Fields {
        name: field("name").and_then(|v| name(v, problems)),
        target: field("target").and_then(|v| target(v, problems)),
        events: field("events").and_then(|v| events(v, problems)),
        active: field("active").and_then(|v| boolean("active", v, problems)),
        auth_type: field("auth_type").and_then(|v| auth_type(v, problems)),
        auth_request_details: field("auth_request_details")
            .and_then(|v| object_of("auth_request_details", v, problems)),
        auth_credentials: field("auth_credentials")
            .and_then(|v| object_of("auth_credentials", v, problems)),
        custom_headers: field("custom_headers").and_then(|v| match custom_headers::parse(v) {
            Ok(headers) => Some(headers),
            Err(found) => {
                for problem in found {
                    problems.add("custom_headers", problem);
                }
                None
            }
        }),
        exception_subaccounts: field("exception_subaccounts")
            .and_then(|v| exception_subaccounts(v, problems)),
        subaccount_id: field("subaccount_id").and_then(|v| subaccount_id(v, problems)),
        auth_token: field("auth_token").and_then(|v| auth_token(v, problems)),
    })
}

fn name(value: &Value, problems: &mut Problems) -> Option<String> {
    match value.as_str() {
        Some(text) if text.trim().is_empty() => problems.add("name", "name must not be empty"),
        Some(text) if text.chars().count() > MAX_NAME_CHARS => problems.add(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
        ),
        Some(text) => return Some(text.to_string()),
        None => problems.add("name", "name must be a string"),
    }
    None
}

fn target(value: &Value, problems: &mut Problems) -> Option<String> {
    match value.as_str() {
        Some(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => {
            problems.add("target", "target must be an http or https URL");
            None
        }
    }
}

fn events(value: &Value, problems: &mut Problems) -> Option<Vec<String>> {
    let Some(items) = value.as_array() else {
        problems.add("events", "events must be an array of event types");
        return None;
    };
    if items.is_empty() {
        problems.add("events", "events must name at least one event type");
        return None;
    }
    let mut known: Vec<String> = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for item in items {
        match item.as_str().map(str::parse::<EventType>) {
            Some(Ok(event_type)) => {
                let name = event_type.as_str().to_string();
                if !known.contains(&name) {
                    known.push(name);
                }
            }
            Some(Err(_)) | None => unknown.push(match item.as_str() {
                Some(text) => text.to_string(),
                None => item.to_string(),
            }),
        }
    }
    if unknown.is_empty() {
        Some(known)
    } else {
        problems.add(
            "events",
            format!("unknown event types: {}", unknown.join(", ")),
        );
        None
    }
}

fn boolean(param: &str, value: &Value, problems: &mut Problems) -> Option<bool> {
    let found = value.as_bool();
    if found.is_none() {
        problems.add(param, format!("{param} must be true or false"));
    }
    found
}

fn auth_type(value: &Value, problems: &mut Problems) -> Option<AuthType> {
    match value.as_str() {
        Some("none") => Some(AuthType::None),
        Some("basic") => Some(AuthType::Basic),
        Some("oauth2") => Some(AuthType::OAuth2),
        _ => {
            problems.add("auth_type", "auth_type must be one of none, basic, oauth2");
            None
        }
    }
}

fn object_of(param: &str, value: &Value, problems: &mut Problems) -> Option<Map<String, Value>> {
    let found = value.as_object().cloned();
    if found.is_none() {
        problems.add(param, format!("{param} must be an object"));
    }
    found
}

fn exception_subaccounts(value: &Value, problems: &mut Problems) -> Option<Vec<u64>> {
    const PARAM: &str = "exception_subaccounts";
    let Some(items) = value.as_array() else {
        problems.add(
            PARAM,
            "exception_subaccounts must be an array of subaccount ids",
        );
        return None;
    };
    // The cap comes first, so that a huge array is refused without the pairwise duplicate
    // check below (and without one problem per duplicate).
    if items.len() > MAX_EXCEPTION_SUBACCOUNTS {
        problems.add(
            PARAM,
            format!(
                "exception_subaccounts may list at most {MAX_EXCEPTION_SUBACCOUNTS} subaccounts, not {}",
                items.len()
            ),
        );
        return None;
    }
    let mut ids: Vec<u64> = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        // Ids as numbers, as SparkPost's requests give them, or as the strings its answers
        // show (`"exception_subaccounts": ["123"]`), so that a retrieved webhook can be sent
        // back as it is.
        let id = item
            .as_u64()
            .or_else(|| item.as_str().and_then(|text| text.parse::<u64>().ok()));
        match id.filter(|&id| id <= MAX_SUBACCOUNT_ID) {
            Some(id) if ids.contains(&id) => {
                problems.add(
                    PARAM,
                    format!("exception_subaccounts lists {id} more than once"),
                );
                ok = false;
            }
            Some(id) => ids.push(id),
            None => {
                problems.add(
                    PARAM,
                    format!(
                        "exception_subaccounts: {item} is not a subaccount id (0 to {MAX_SUBACCOUNT_ID})"
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(ids)
}

/// Longest `auth_token`, in bytes. SparkPost documents no limit; a token is a header value.
pub(crate) const MAX_AUTH_TOKEN_BYTES: usize = 1024;

/// SparkPost's deprecated `auth_token` (webhooks.apib: "Authentication token to present in the
/// `X-MessageSystems-Webhook-Token` header of POST requests to target"): a string that can be
/// sent as a header value; `""` means none.
fn auth_token(value: &Value, problems: &mut Problems) -> Option<String> {
    match value.as_str() {
        Some(text) if text.len() > MAX_AUTH_TOKEN_BYTES => problems.add(
            "auth_token",
            format!("auth_token must be at most {MAX_AUTH_TOKEN_BYTES} bytes"),
        ),
        Some(text) if axum::http::HeaderValue::from_str(text).is_err() => problems.add(
            "auth_token",
            "auth_token must be printable text that can be sent as a header value",
        ),
        Some(text) => return Some(text.to_string()),
        None => problems.add("auth_token", "auth_token must be a string"),
    }
    None
}

fn subaccount_id(value: &Value, problems: &mut Problems) -> Option<i64> {
    let most = i64::try_from(MAX_SUBACCOUNT_ID).unwrap_or(i64::MAX);
    match value.as_i64() {
        Some(id) if (-1..=most).contains(&id) => Some(id),
        _ => {
            problems.add(
                "subaccount_id",
                format!("subaccount_id must be -1 (primary and all subaccounts), 0 (primary only) or a subaccount id (up to {MAX_SUBACCOUNT_ID})"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params_of(body: Value) -> Vec<String> {
        let mut problems = Problems::default();
        read(body.to_string().as_bytes(), &mut problems).unwrap();
        problems.params()
    }

    #[test]
    fn subaccount_ids_past_the_range_are_refused() {
        for body in [
            json!({"subaccount_id": 2_147_483_648_i64}),
            json!({"exception_subaccounts": [1, 2_147_483_648_i64]}),
        ] {
            assert_eq!(params_of(body.clone()).len(), 1, "{body}");
        }
        assert!(params_of(json!({"subaccount_id": 2_147_483_647_i64})).is_empty());
    }

    #[test]
    fn reads_a_valid_body() {
        let mut problems = Problems::default();
        let body = json!({
            "name": "n", "target": " https://x.example/ ", "events": ["delivery", "bounce", "delivery"],
            "active": false, "auth_type": "basic", "auth_credentials": {"username": "u"},
            "custom_headers": {"x-a": "1"}, "exception_subaccounts": [1, 2], "subaccount_id": -1,
            "unknown_field": 1, "auth_token": "5ebe2294ecd0e0f08eab7690d2a6ee69"
        });
        let fields = read(body.to_string().as_bytes(), &mut problems).unwrap();
        assert!(problems.0.is_empty(), "{problems:?}");
        assert_eq!(fields.target.as_deref(), Some("https://x.example/"));
        assert_eq!(fields.events.unwrap(), ["delivery", "bounce"]);
        assert_eq!(fields.active, Some(false));
        assert_eq!(fields.auth_type, Some(AuthType::Basic));
        assert_eq!(fields.exception_subaccounts.unwrap(), [1, 2]);
        assert_eq!(fields.subaccount_id, Some(-1));
        assert_eq!(
            fields.auth_token.as_deref(),
            Some("5ebe2294ecd0e0f08eab7690d2a6ee69")
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let params = params_of(json!({
            "name": "", "target": 5, "events": ["delivery", "nope"], "active": "yes",
            "auth_type": "digest", "auth_request_details": [], "auth_credentials": "x",
            "custom_headers": {"Bad Name": "1"}, "exception_subaccounts": [1, 1, -3],
            "subaccount_id": -2, "auth_token": 5
        }));
        assert_eq!(
            params,
            [
                "name",
                "target",
                "events",
                "active",
                "auth_type",
                "auth_request_details",
                "auth_credentials",
                "custom_headers",
                "exception_subaccounts",
                "exception_subaccounts",
                "subaccount_id",
                "auth_token"
            ]
        );
    }

    #[test]
    fn exception_ids_may_be_the_strings_a_retrieve_shows() {
        let mut problems = Problems::default();
        let body = json!({"exception_subaccounts": ["123", 7]});
        let fields = read(body.to_string().as_bytes(), &mut problems).unwrap();
        assert_eq!(fields.exception_subaccounts.unwrap(), [123, 7]);
        assert_eq!(
            params_of(json!({"exception_subaccounts": ["12x"]})),
            ["exception_subaccounts"]
        );
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(params_of(json!({"name": "x".repeat(1025)})), ["name"]);
        assert!(params_of(json!({"name": "é".repeat(1024)})).is_empty());
        assert_eq!(params_of(json!({"events": []})), ["events"]);
        assert_eq!(
            params_of(json!({"auth_token": "x".repeat(1025)})),
            ["auth_token"]
        );
        assert_eq!(params_of(json!({"auth_token": "a\nb"})), ["auth_token"]);
        assert!(params_of(json!({"auth_token": "x".repeat(1024)})).is_empty());
        let eleven: Vec<u64> = (1..=11).collect();
        assert_eq!(
            params_of(json!({ "exception_subaccounts": eleven })),
            ["exception_subaccounts"]
        );
    }

    #[test]
    fn huge_exception_list_is_refused_before_any_duplicate_check() {
        // 200,000 copies of one id: checked pair by pair, this is 2e10 comparisons and one
        // problem per copy; capped first, it is one problem.
        let mut problems = Problems::default();
        let huge = vec![json!(7); 200_000];
        let started = std::time::Instant::now();
        let fields = read(
            json!({ "exception_subaccounts": huge })
                .to_string()
                .as_bytes(),
            &mut problems,
        )
        .unwrap();
        assert!(fields.exception_subaccounts.is_none());
        assert_eq!(problems.params(), ["exception_subaccounts"]);
        let description = problems.0[0].description.clone().unwrap();
        assert!(description.contains("at most 10"), "{description}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn unknown_event_types_are_listed() {
        let mut problems = Problems::default();
        read(
            json!({"events": ["bogus", "delivery", 3]})
                .to_string()
                .as_bytes(),
            &mut problems,
        )
        .unwrap();
        let description = problems.0[0].description.clone().unwrap();
        assert!(
            description.contains("bogus") && description.contains('3'),
            "{description}"
        );
    }

    #[test]
    fn non_object_bodies_are_refused() {
        let mut problems = Problems::default();
        assert!(read(b"[1]", &mut problems).is_err());
        assert!(read(b"{", &mut problems).is_err());
    }
}
