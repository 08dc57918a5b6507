//! How eventhose authenticates to a webhook endpoint.

mod error;
mod token_cache;
mod token_request;

pub use error::AuthError;
pub use token_cache::TokenCache;
pub use token_request::{fetch_token, Token};

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
