//! Static checks on a target URL, before any network traffic.

use super::{TargetError, TargetPolicy};
use std::net::IpAddr;
use url::{Host, Url};

/// Parses and checks a webhook target URL: `http` or `https` only, a host, no userinfo, and an
/// IP-literal host must be allowed by `policy` (host names are checked at connect time by the
/// [`client`](super::client)'s resolver).
///
/// Any port is accepted: SparkPost only lets targets use 80 and 443, but self-hosted receivers
/// often listen elsewhere, and the address check — not the port — is what keeps traffic off
/// internal services.
pub fn check_url(url: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let parsed = Url::parse(url).map_err(|e| TargetError::InvalidUrl(format!("{url}: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => return Err(TargetError::Scheme(other.to_owned())),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::InvalidUrl(
            "credentials in the URL are not allowed; use basic auth instead".to_owned(),
        ));
    }
    let literal = match parsed.host() {
        None => return Err(TargetError::InvalidUrl(format!("{url}: no host"))),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    if let Some(ip) = literal {
        if !policy.allows(ip) {
            return Err(TargetError::Forbidden {
                host: parsed.host_str().unwrap_or_default().to_owned(),
                ip,
            });
        }
    }
    Ok(parsed)
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
    fn accepts_public_http_and_https_on_any_port() {
        for url in [
            "https://hooks.example.com/events",
            "http://hooks.example.com:8080/x?y=1",
            "https://8.8.8.8/",
            "http://[2606:4700::1111]:8443/",
        ] {
            let parsed = check_url(url, STRICT).unwrap();
            assert!(parsed.as_str().starts_with("http"), "{url}");
        }
    }

    #[test]
    fn refuses_other_schemes() {
        for (url, scheme) in [
            ("ftp://example.com/", "ftp"),
            ("file:///etc/passwd", "file"),
            ("gopher://example.com/", "gopher"),
        ] {
            assert_eq!(
                check_url(url, LAX).unwrap_err(),
                TargetError::Scheme(scheme.to_owned())
            );
        }
    }

    #[test]
    fn refuses_urls_without_a_host() {
        for url in ["http://", "https:///", "not a url", "/relative/path", ""] {
            assert!(
                matches!(check_url(url, LAX), Err(TargetError::InvalidUrl(_))),
                "{url:?} should be invalid"
            );
        }
    }

    #[test]
    fn refuses_userinfo() {
        for url in [
            "https://user:pass@example.com/",
            "https://user@example.com/",
            "https://:pass@example.com/",
        ] {
            let err = check_url(url, LAX).unwrap_err();
            assert!(
                matches!(&err, TargetError::InvalidUrl(m) if m.contains("credentials")),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn literal_private_addresses_depend_on_the_policy() {
        let err = check_url("http://127.0.0.1:8080/hook", STRICT).unwrap_err();
        assert_eq!(
            err,
            TargetError::Forbidden {
                host: "127.0.0.1".to_owned(),
                ip: "127.0.0.1".parse().unwrap(),
            }
        );
        assert!(check_url("http://127.0.0.1:8080/hook", LAX).is_ok());
        assert!(matches!(
            check_url("http://[::1]/", STRICT),
            Err(TargetError::Forbidden { .. })
        ));
        assert!(check_url("http://[::1]/", LAX).is_ok());
    }

    #[test]
    fn obfuscated_ipv4_literals_are_normalised_then_refused() {
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://169.254.43518/",
            "http://[::ffff:a9fe:a9fe]/",
        ] {
            assert!(
                matches!(check_url(url, STRICT), Err(TargetError::Forbidden { .. })),
                "{url} should be forbidden"
            );
        }
    }
}
