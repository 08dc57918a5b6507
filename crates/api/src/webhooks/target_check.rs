//! The SSRF policy applied to a URL given in a request, before anything is sent to it.

use eventhose_webhooks::target::{check_url, resolve_allowed};
use eventhose_webhooks::TargetPolicy;

/// Why `url` cannot be used under `policy`, or `None` when it can. Nothing is sent: the URL is
/// checked, and a host name is resolved to check its addresses (the client checks them again
/// when it connects).
pub(crate) async fn refusal(url: &str, policy: TargetPolicy) -> Option<String> {
    let parsed = match check_url(url, policy) {
        Ok(parsed) => parsed,
        Err(e) => return Some(e.to_string()),
    };
    let domain = parsed.domain()?;
    resolve_allowed(domain, policy)
        .await
        .err()
        .map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const LAX: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    #[tokio::test]
    async fn private_targets_need_the_lax_policy() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://localhost:9/",
            "http://[::1]/",
        ] {
            let reason = refusal(url, STRICT).await;
            assert!(reason.is_some(), "{url} was allowed");
            assert_eq!(refusal(url, LAX).await, None, "{url}");
        }
    }

    #[tokio::test]
    async fn malformed_urls_are_refused_with_a_reason() {
        for url in ["ftp://example.com/", "not a url", "http://user:pw@8.8.8.8/"] {
            let reason = refusal(url, LAX).await.unwrap_or_default();
            assert!(!reason.is_empty(), "{url}");
        }
        assert!(refusal("ftp://example.com/", LAX)
            .await
            .unwrap()
            .contains("ftp"));
    }
}
