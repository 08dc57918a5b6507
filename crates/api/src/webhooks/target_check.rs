//! The SSRF policy applied to a URL given in a request, before anything is sent to it, and
//! SparkPost's rule on target ports.

use eventhose_webhooks::target::{check_url, resolve_allowed};
use eventhose_webhooks::TargetPolicy;

use super::TargetRules;

/// Why a target on `url`'s port is refused under `rules`, or `None`. SparkPost's reference
/// (webhooks.apib, `target`): "Only ports 80 for http and 443 for https can be set." A URL
/// that does not parse is left to [`refusal`].
pub(crate) fn port_refusal(url: &str, rules: TargetRules) -> Option<String> {
    if rules.any_port {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let standard = match parsed.scheme() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let port = parsed.port_or_known_default()?;
    (port != standard).then(|| {
        format!(
            "only port {standard} can be set for {} targets, as SparkPost allows, not {port} (the operator can allow any port with webhooks.allow_any_port)",
            parsed.scheme()
        )
    })
}

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

    #[test]
    fn only_standard_ports_unless_the_operator_allows_any() {
        let sparkpost = TargetRules::default();
        for url in [
            "http://hooks.example.com/in",
            "https://hooks.example.com/in",
            "http://hooks.example.com:80/in",
            "https://hooks.example.com:443/in",
        ] {
            assert_eq!(port_refusal(url, sparkpost), None, "{url}");
        }
        for url in [
            "http://hooks.example.com:8080/in",
            "https://hooks.example.com:8443/in",
            "http://hooks.example.com:443/in",
            "https://hooks.example.com:80/in",
        ] {
            let reason = port_refusal(url, sparkpost).unwrap_or_default();
            assert!(reason.contains("only port"), "{url}: {reason}");
        }
        let any = TargetRules {
            any_port: true,
            ..TargetRules::default()
        };
        assert_eq!(port_refusal("http://hooks.example.com:8080/in", any), None);
    }

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
