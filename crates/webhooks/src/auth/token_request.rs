//! One OAuth2 client-credentials token request.

use super::AuthError;
use crate::post::{describe_error, target_error};
use crate::response::capture;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// How much of a token answer is read (JWTs can be several KiB).
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// An access token and its announced lifetime in seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Seconds the token stays valid, when the endpoint said.
    pub expires_in: Option<u64>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `expires_in` as a number or, as some servers send it, a numeric string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Seconds>,
}

/// POSTs `body` to `token_url` as `application/x-www-form-urlencoded` and reads a JSON answer
/// `{"access_token": "...", "expires_in": 3600}`. String values are sent as they are, other values
/// as their JSON text (`null` as an empty value).
///
/// The URL is not checked here: call [`check_url`](crate::target::check_url) first for IP-literal
/// hosts (the guarded client's resolver covers names). [`post_batch`](crate::post::post_batch) does.
pub async fn fetch_token(
    client: &reqwest::Client,
    token_url: &str,
    body: &Map<String, Value>,
) -> Result<Token, AuthError> {
    let form: Vec<(&str, String)> = body
        .iter()
        .map(|(key, value)| (key.as_str(), form_value(value)))
        .collect();
    let response = client
        .post(token_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| match target_error(&e) {
            Some(target) => AuthError::Target(target),
            None => AuthError::Request(describe_error(&e)),
        })?;
    let (summary, raw) = capture(response, TOKEN_BODY_LIMIT).await;
    if !(200..300).contains(&summary.status) {
        return Err(AuthError::Status(summary));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&raw).map_err(|e| AuthError::InvalidResponse(e.to_string()))?;
    if answer.access_token.is_empty() {
        return Err(AuthError::InvalidResponse("empty access_token".to_owned()));
    }
    let expires_in = match answer.expires_in {
        None => None,
        Some(Seconds::Number(n)) => Some(n),
        Some(Seconds::Text(text)) => Some(text.trim().parse().map_err(|_| {
            AuthError::InvalidResponse(format!("expires_in '{text}' is not a number"))
        })?),
    };
    Ok(Token {
        access_token: answer.access_token,
        expires_in,
    })
}

fn form_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_plain_text() {
        assert_eq!(form_value(&Value::from("abc")), "abc");
        assert_eq!(form_value(&Value::from(42)), "42");
        assert_eq!(form_value(&Value::from(true)), "true");
        assert_eq!(form_value(&Value::Null), "");
    }

    #[test]
    fn debug_hides_the_token() {
        let token = Token {
            access_token: "secret-value".to_owned(),
            expires_in: Some(60),
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret-value"), "{shown}");
        assert!(shown.contains("60"), "{shown}");
    }
}
