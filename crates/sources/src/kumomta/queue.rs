//! KumoMTA's queue names: `campaign:tenant@domain!routing_domain`, each part but the domain
//! optional (`tenant@domain`, `campaign:@domain`, `domain`, `domain!routing_domain`, …).
//!
//! Read as KumoMTA reads them: the name splits at its first `@` into prefix and domain, the
//! prefix at its first `:` into campaign and tenant (no `:`: the prefix is the tenant), and
//! the domain at its first `!` into domain and routing domain. Empty parts are absent.

/// The suffix of the queues KumoMTA's log hooks deliver their own records through.
pub const LOG_HOOK_QUEUE_SUFFIX: &str = ".log_hook";

/// A queue name's parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueName<'a> {
    /// The campaign.
    pub campaign: Option<&'a str>,
    /// The tenant.
    pub tenant: Option<&'a str>,
    /// The destination domain.
    pub domain: Option<&'a str>,
    /// The domain used for routing instead of the destination domain.
    pub routing_domain: Option<&'a str>,
}

impl<'a> QueueName<'a> {
    /// Splits a queue name into its parts.
    pub fn parse(name: &'a str) -> QueueName<'a> {
        let (prefix, domain) = match name.split_once('@') {
            Some((prefix, domain)) => (Some(prefix), domain),
            None => (None, name),
        };
        let (campaign, tenant) = match prefix.map(|prefix| prefix.split_once(':')) {
            Some(Some((campaign, tenant))) => (Some(campaign), Some(tenant)),
            Some(None) => (None, prefix),
            None => (None, None),
        };
        let (domain, routing_domain) = match domain.split_once('!') {
            Some((domain, routing)) => (domain, Some(routing)),
            None => (domain, None),
        };
        let present = |part: Option<&'a str>| part.filter(|part| !part.is_empty());
        QueueName {
            campaign: present(campaign),
            tenant: present(tenant),
            domain: present(Some(domain)),
            routing_domain: present(routing_domain),
        }
    }
}

/// Whether `queue` is a log hook's own queue.
pub fn is_log_hook_queue(queue: &str) -> bool {
    queue.ends_with(LOG_HOOK_QUEUE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> [Option<&str>; 4] {
        let q = QueueName::parse(name);
        [q.campaign, q.tenant, q.domain, q.routing_domain]
    }

    #[test]
    fn every_documented_form() {
        let (c, t, d, r) = (
            Some("spring"),
            Some("acme"),
            Some("example.com"),
            Some("relay.example"),
        );
        assert_eq!(parts("spring:acme@example.com"), [c, t, d, None]);
        assert_eq!(parts("spring:acme@example.com!relay.example"), [c, t, d, r]);
        assert_eq!(parts("acme@example.com"), [None, t, d, None]);
        assert_eq!(parts("acme@example.com!relay.example"), [None, t, d, r]);
        assert_eq!(parts("spring:@example.com"), [c, None, d, None]);
        assert_eq!(parts("spring:@example.com!relay.example"), [c, None, d, r]);
        assert_eq!(parts("example.com"), [None, None, d, None]);
        assert_eq!(parts("example.com!relay.example"), [None, None, d, r]);
        assert_eq!(parts(""), [None; 4]);
    }

    #[test]
    fn splits_at_the_first_separator() {
        assert_eq!(
            parts("a:b:c@d@e!f!g"),
            [Some("a"), Some("b:c"), Some("d@e"), Some("f!g")]
        );
    }

    #[test]
    fn hook_queues() {
        assert!(is_log_hook_queue("eventhose.log_hook"));
        assert!(!is_log_hook_queue("example.com"));
    }
}
