//! The dimensions metrics are kept by: what the Metrics API filters and groups on.

use std::fmt;

/// One attribute of an event that metrics are aggregated by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// `recipient_domain`.
    Domain,
    /// `mailbox_provider`.
    MailboxProvider,
    /// `mailbox_provider_region`.
    MailboxProviderRegion,
    /// `sending_domain`.
    SendingDomain,
    /// `campaign_id`.
    Campaign,
    /// `template_id`.
    Template,
    /// `ip_pool`.
    IpPool,
    /// `sending_ip`.
    SendingIp,
    /// `subaccount_id` (0 is the primary account).
    Subaccount,
}

impl Dimension {
    /// Every dimension, in storage column order.
    pub const ALL: [Dimension; 9] = [
        Dimension::Subaccount,
        Dimension::Domain,
        Dimension::MailboxProvider,
        Dimension::MailboxProviderRegion,
        Dimension::SendingDomain,
        Dimension::Campaign,
        Dimension::Template,
        Dimension::IpPool,
        Dimension::SendingIp,
    ];

    /// The event field the dimension is read from.
    pub fn event_field(self) -> &'static str {
        match self {
            Dimension::Domain => "recipient_domain",
            Dimension::MailboxProvider => "mailbox_provider",
            Dimension::MailboxProviderRegion => "mailbox_provider_region",
            Dimension::SendingDomain => "sending_domain",
            Dimension::Campaign => "campaign_id",
            Dimension::Template => "template_id",
            Dimension::IpPool => "ip_pool",
            Dimension::SendingIp => "sending_ip",
            Dimension::Subaccount => "subaccount_id",
        }
    }

    /// The Metrics API's filter parameter (and `query_filters` key), e.g. `domains`.
    pub fn filter_param(self) -> &'static str {
        match self {
            Dimension::Domain => "domains",
            Dimension::MailboxProvider => "mailbox_providers",
            Dimension::MailboxProviderRegion => "mailbox_provider_regions",
            Dimension::SendingDomain => "sending_domains",
            Dimension::Campaign => "campaigns",
            Dimension::Template => "templates",
            Dimension::IpPool => "ip_pools",
            Dimension::SendingIp => "sending_ips",
            Dimension::Subaccount => "subaccounts",
        }
    }

    /// The key of a group-by result row, e.g. `domain` or `subaccount_id`.
    pub fn result_key(self) -> &'static str {
        match self {
            Dimension::Domain => "domain",
            Dimension::MailboxProvider => "mailbox_provider",
            Dimension::MailboxProviderRegion => "mailbox_provider_region",
            Dimension::SendingDomain => "sending_domain",
            Dimension::Campaign => "campaign_id",
            Dimension::Template => "template_id",
            Dimension::IpPool => "ip_pool",
            Dimension::SendingIp => "sending_ip",
            Dimension::Subaccount => "subaccount_id",
        }
    }

    /// The storage column name (a plain identifier).
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Domain => "domain",
            Dimension::MailboxProvider => "mailbox_provider",
            Dimension::MailboxProviderRegion => "mailbox_provider_region",
            Dimension::SendingDomain => "sending_domain",
            Dimension::Campaign => "campaign",
            Dimension::Template => "template",
            Dimension::IpPool => "ip_pool",
            Dimension::SendingIp => "sending_ip",
            Dimension::Subaccount => "subaccount",
        }
    }

    /// The dimension whose filter parameter is `param`.
    pub fn from_filter_param(param: &str) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.filter_param() == param)
    }

    /// Position in [`Dimension::ALL`].
    pub fn index(self) -> usize {
        Dimension::ALL
            .iter()
            .position(|d| *d == self)
            .unwrap_or_default()
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.filter_param())
    }
}
