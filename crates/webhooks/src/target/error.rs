//! Errors raised by the SSRF guard.

use std::net::IpAddr;

/// Why a webhook target was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The URL does not parse, has no host, or carries credentials.
    #[error("invalid target URL: {0}")]
    InvalidUrl(String),
    /// The scheme is neither `http` nor `https`.
    #[error("unsupported URL scheme '{0}' (only http and https are allowed)")]
    Scheme(String),
    /// The host is, or only resolves to, an address the policy forbids.
    #[error("target host {host} resolves to forbidden address {ip}")]
    Forbidden {
        /// The host as written in the URL.
        host: String,
        /// The first forbidden address found.
        ip: IpAddr,
    },
    /// The host name does not resolve to any address.
    #[error("target host cannot be resolved: {0}")]
    Unresolvable(String),
    /// The HTTP client could not be built.
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}
