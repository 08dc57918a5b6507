//! SSRF guard for webhook targets.
//!
//! Two layers: [`check_url`] vets the URL itself (scheme, userinfo, IP-literal hosts), and the
//! [`client`] resolves host names through a resolver that drops forbidden addresses before the
//! connection is made, which leaves no window for DNS rebinding.

mod addresses;
mod client;
mod error;
mod url_check;

pub use addresses::is_forbidden;
pub use client::{client, resolve_allowed};
pub use error::TargetError;
pub use url_check::check_url;

/// Which destinations webhook traffic may reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private and other non-public addresses (development and tests only).
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Whether the policy lets traffic reach `ip`.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        self.allow_private || !is_forbidden(ip)
    }
}
