//! The guarded HTTP client: no redirects, no proxies, and a resolver that only hands out
//! addresses the policy allows.

use super::{TargetError, TargetPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Builds the `reqwest` client for webhook traffic: rustls, redirects never followed, proxies
/// ignored, `timeout` for the whole request (connect, send and response), and a DNS resolver that
/// resolves with tokio and drops forbidden addresses (an error when none is left) unless
/// `policy.allow_private`. The connection goes to one of the vetted addresses, so a name cannot
/// be re-pointed at an internal address between the check and the connect.
///
/// `reqwest` does not consult the resolver for IP-literal hosts: those are covered by
/// [`check_url`](super::check_url), which [`post_batch`](crate::post::post_batch) calls first.
pub fn client(policy: TargetPolicy, timeout: Duration) -> Result<reqwest::Client, TargetError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .user_agent(concat!("eventhose-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TargetError::Client(e.to_string()))
}

/// Resolves `host` with the system resolver and keeps the addresses `policy` allows (port 0).
///
/// Errors with [`TargetError::Unresolvable`] when the name has no address and with
/// [`TargetError::Forbidden`] (naming the first address found) when every address is forbidden.
pub async fn resolve_allowed(
    host: &str,
    policy: TargetPolicy,
) -> Result<Vec<SocketAddr>, TargetError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| TargetError::Unresolvable(format!("{host}: {e}")))?
        .collect();
    let Some(first) = found.first().copied() else {
        return Err(TargetError::Unresolvable(format!("{host}: no addresses")));
    };
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| policy.allows(addr.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(TargetError::Forbidden {
            host: host.to_owned(),
            ip: first.ip(),
        });
    }
    Ok(allowed)
}

/// A `reqwest` resolver applying [`resolve_allowed`].
struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addrs = resolve_allowed(name.as_str(), policy).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_is_forbidden_by_default() {
        let err = resolve_allowed("localhost", TargetPolicy::default())
            .await
            .unwrap_err();
        match err {
            TargetError::Forbidden { host, ip } => {
                assert_eq!(host, "localhost");
                assert!(ip.is_loopback(), "{ip}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn localhost_resolves_when_private_is_allowed() {
        let addrs = resolve_allowed(
            "localhost",
            TargetPolicy {
                allow_private: true,
            },
        )
        .await
        .unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[tokio::test]
    async fn unknown_names_are_unresolvable() {
        let err = resolve_allowed("no-such-host.invalid", TargetPolicy::default())
            .await
            .unwrap_err();
        assert!(matches!(err, TargetError::Unresolvable(_)), "{err:?}");
    }
}
