//! Building blocks for delivering event batches to customers' webhook endpoints.
//!
//! - [`target`]: the SSRF guard — URL checks, a forbidden-address table, and a `reqwest` client whose
//!   DNS resolver only hands out allowed addresses, so the address checked is the address connected to.
//! - [`signing`]: Standard Webhooks v1 signatures (`webhook-signature: v1,<base64 HMAC-SHA256>`).
//! - [`auth`]: the endpoint authentication modes (none, HTTP Basic, OAuth2 client credentials) and a
//!   per-webhook bearer-token cache.
//! - [`post`]: one POST of one batch, classified into an [`post::Outcome`].
//! - [`retry`]: the retry schedule (12 attempts over about 8 hours by default) and `Retry-After` parsing.
//!
//! The crate performs single attempts only; queueing, persistence and scheduling belong to the caller.

#![warn(missing_docs)]

pub mod auth;
pub mod post;
pub mod response;
pub mod retry;
pub mod signing;
pub mod target;

pub use auth::{Auth, AuthError, Token, TokenCache};
pub use post::{post_batch, BatchPost, Failure, Outcome};
pub use response::TargetResponse;
pub use retry::{RetrySchedule, ScheduleError};
pub use signing::SigningError;
pub use target::{TargetError, TargetPolicy};
