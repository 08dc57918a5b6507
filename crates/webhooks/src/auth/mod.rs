//! How eventhose authenticates to a webhook endpoint.

mod error;
mod token_cache;
mod token_request;

pub use error::AuthError;
pub use token_cache::TokenCache;
pub use token_request::{fetch_token, Token};

use eventhose_state::WebhookAuth;
use serde_json::{Map, Value};

/// The authentication a webhook endpoint expects (SparkPost's `auth_type`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password (may be empty).
        password: String,
    },
    /// OAuth2 client credentials: a token is requested from `token_url` by POSTing `body` as a
    /// form, then sent as `Authorization: Bearer <token>`.
    OAuth2 {
        /// The token endpoint (SparkPost's `auth_request_details.url`).
        token_url: String,
        /// The form fields (SparkPost's `auth_request_details.body`), typically `client_id`,
        /// `client_secret` and `grant_type`.
        body: Map<String, Value>,
    },
}

/// A stored webhook's authentication, as the delivery code sends it.
impl From<&WebhookAuth> for Auth {
    fn from(auth: &WebhookAuth) -> Self {
        match auth {
            WebhookAuth::None => Auth::None,
            WebhookAuth::Basic { username, password } => Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            WebhookAuth::OAuth2 { url, body } => Auth::OAuth2 {
                token_url: url.clone(),
                body: body.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_webhooks_auth_is_carried_over() {
        let basic = WebhookAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        assert_eq!(
            Auth::from(&basic),
            Auth::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert_eq!(Auth::from(&WebhookAuth::None), Auth::None);
        let mut body = Map::new();
        body.insert("client_id".into(), Value::from("c"));
        let oauth2 = WebhookAuth::OAuth2 {
            url: "https://tokens.example/".into(),
            body: body.clone(),
        };
        assert_eq!(
            Auth::from(&oauth2),
            Auth::OAuth2 {
                token_url: "https://tokens.example/".into(),
                body
            }
        );
    }
}
