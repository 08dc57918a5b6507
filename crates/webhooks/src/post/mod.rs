//! One POST of one batch to a webhook target.

mod classify;
mod headers;
mod outcome;

pub use crate::response::{TargetResponse, RESPONSE_BODY_LIMIT};
pub(crate) use classify::{describe_error, target_error};
pub use headers::{
    BATCH_ID_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER,
};
pub use outcome::{Failure, Outcome};

use crate::auth::{Auth, AuthError, Token, TokenCache};
use crate::response::capture;
use crate::retry::parse_retry_after;
use crate::target::{check_url, TargetPolicy};
use bytes::Bytes;
use eventhose_state::unix_now;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// One batch to POST, and where and how.
#[derive(Clone, Debug)]
pub struct BatchPost<'a> {
    /// The webhook the batch belongs to (keys the token cache).
    pub webhook_id: &'a str,
    /// The target URL.
    pub url: &'a str,
    /// The batch id: sent as `X-MessageSystems-Batch-ID` and `webhook-id`, and signed. Must not
    /// contain `.` when signing.
    pub batch_id: &'a str,
    /// The JSON body, sent unchanged.
    pub body: Bytes,
    /// Extra headers for every POST. They cannot override the headers this crate sets; a custom
    /// `Authorization` is only replaced when `auth` is not [`Auth::None`].
    pub custom_headers: &'a [(String, String)],
    /// The endpoint's authentication.
    pub auth: &'a Auth,
    /// SparkPost's deprecated `auth_token`, sent as `X-MessageSystems-Webhook-Token`.
    pub auth_token: Option<&'a str>,
    /// Standard Webhooks secrets (`whsec_…`); empty for no signature.
    pub signing_secrets: &'a [String],
}

/// An HTTP answer to a POST.
struct Answer {
    response: TargetResponse,
    latency: Duration,
}

/// POSTs one batch with the guarded `client`.
///
/// Headers: `Content-Type: application/json`, `X-MessageSystems-Batch-ID: <batch_id>`, the custom
/// headers, `X-MessageSystems-Webhook-Token` when there is an `auth_token`, `Authorization: Basic …` or `Bearer …` per `auth`, and the Standard Webhooks headers
/// `webhook-id` (= batch_id), `webhook-timestamp` (this attempt, Unix seconds) and, when
/// `signing_secrets` is non-empty, `webhook-signature`.
///
/// The target URL (and an OAuth2 token URL) is checked with [`check_url`] under `policy` before
/// anything is sent. With OAuth2, a 400 or 401 answer means the token is taken as expired: it is
/// invalidated, a new one fetched, and the POST retried once. Redirects are never followed (a 3xx
/// is a failure). On failures, `Retry-After` (seconds or HTTP date) is parsed but not clamped:
/// see [`RetrySchedule::delay_before`](crate::retry::RetrySchedule::delay_before).
///
/// Also returns the target's response (the same one a failure carries), for the validate endpoint.
pub async fn post_batch(
    client: &reqwest::Client,
    tokens: &TokenCache,
    policy: TargetPolicy,
    post: BatchPost<'_>,
) -> (Outcome, Option<TargetResponse>) {
    let started = Instant::now();
    match deliver(client, tokens, policy, &post).await {
        Ok(answer) => judge(answer),
        Err((failure, response)) => (
            Outcome::Failed {
                failure,
                latency: started.elapsed(),
                retry_after: None,
                response: response.clone(),
            },
            response,
        ),
    }
}

type Refusal = (Failure, Option<TargetResponse>);

/// Turns an HTTP answer into an outcome.
fn judge(answer: Answer) -> (Outcome, Option<TargetResponse>) {
    let Answer { response, latency } = answer;
    let status = response.status;
    if (200..300).contains(&status) {
        return (Outcome::Delivered { status, latency }, Some(response));
    }
    let retry_after = response
        .header("retry-after")
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    let outcome = Outcome::Failed {
        failure: Failure::Status(status),
        latency,
        retry_after,
        response: Some(response.clone()),
    };
    (outcome, Some(response))
}

async fn deliver(
    client: &reqwest::Client,
    tokens: &TokenCache,
    policy: TargetPolicy,
    post: &BatchPost<'_>,
) -> Result<Answer, Refusal> {
    let url = check_url(post.url, policy).map_err(|e| (Failure::Target(e), None))?;
    let mut headers = headers::base(post).map_err(|f| (f, None))?;
    match post.auth {
        Auth::None => send(client, &url, post, headers).await,
        Auth::Basic { username, password } => {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                headers::basic(username, password),
            );
            send(client, &url, post, headers).await
        }
        Auth::OAuth2 { token_url, body } => {
            check_url(token_url, policy).map_err(|e| (Failure::Target(e), None))?;
            let token = bearer(client, tokens, post.webhook_id, token_url, body).await?;
            let first = send(client, &url, post, with_bearer(&headers, &token)?).await?;
            if !matches!(first.response.status, 400 | 401) {
                return Ok(first);
            }
            tokens.invalidate_token(post.webhook_id, &token.access_token);
            let fresh = bearer(client, tokens, post.webhook_id, token_url, body).await?;
            send(client, &url, post, with_bearer(&headers, &fresh)?).await
        }
    }
}

async fn bearer(
    client: &reqwest::Client,
    tokens: &TokenCache,
    webhook_id: &str,
    token_url: &str,
    body: &Map<String, Value>,
) -> Result<Token, Refusal> {
    tokens
        .bearer(client, webhook_id, token_url, body)
        .await
        .map_err(|e| match e {
            AuthError::Target(target) => (Failure::Target(target), None),
            other => {
                let response = other.response().cloned();
                (Failure::Auth(other.to_string()), response)
            }
        })
}

fn with_bearer(headers: &HeaderMap, token: &Token) -> Result<HeaderMap, Refusal> {
    let mut headers = headers.clone();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        headers::bearer(&token.access_token).map_err(|f| (f, None))?,
    );
    Ok(headers)
}

/// Signs and sends one POST, and reads the answer.
async fn send(
    client: &reqwest::Client,
    url: &Url,
    post: &BatchPost<'_>,
    mut headers: HeaderMap,
) -> Result<Answer, Refusal> {
    headers::stamp(&mut headers, post, unix_now()).map_err(|f| (f, None))?;
    let started = Instant::now();
    let response = client
        .post(url.clone())
        .headers(headers)
        .body(post.body.clone())
        .send()
        .await
        .map_err(|e| (classify::classify(&e), None))?;
    let (response, _) = capture(response, RESPONSE_BODY_LIMIT).await;
    Ok(Answer {
        response,
        latency: started.elapsed(),
    })
}
