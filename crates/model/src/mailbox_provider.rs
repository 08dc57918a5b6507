//! Mailbox providers: who hosts a recipient's mailbox, as SparkPost reports it in
//! `mailbox_provider` and `mailbox_provider_region` and as the Metrics API groups by.
//!
//! Two tables, both sorted and searched by binary search without allocating:
//! - the big providers' consumer domains ([`mailbox_provider`]): `gmail.com` is Gmail,
//!   `yahoo.co.uk` is Yahoo in Europe - UK;
//! - the host names of their inbound MX servers ([`mailbox_provider_for_mx`]), for a
//!   company's own domain hosted at a provider: a domain whose MX is
//!   `aspmx.l.google.com` is a Gsuite mailbox, one whose MX is
//!   `example-com.mail.protection.outlook.com` an Office 365 one.
//!
//! Names and regions are the ones the simulator's catalog and the Metrics API tests use
//! (`"Gmail"`, `"Gsuite"`, `"Office 365"`, `"Europe - UK"`, ...). Domains are matched whole,
//! never by prefix or pattern: `yahoo.co.jp` belongs to a different company than
//! `yahoo.com`, and `gmail.com.example.net` to nobody in particular.

use std::cmp::Ordering;

use serde::Serialize;

/// A mailbox provider and the region its mailboxes are reported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MailboxProvider {
    /// The provider's name, e.g. `"Gmail"`, `"Outlook"`, `"Office 365"`, `"Mail.ru"`.
    pub name: &'static str,
    /// The region, e.g. `"Global"`, `"North America"`, `"Europe - Germany"`.
    pub region: &'static str,
}

const fn provider(name: &'static str, region: &'static str) -> MailboxProvider {
    MailboxProvider { name, region }
}

const GLOBAL: &str = "Global";
const NORTH_AMERICA: &str = "North America";
const SOUTH_AMERICA_BRAZIL: &str = "South America - Brazil";
const EUROPE: &str = "Europe";
const EUROPE_UK: &str = "Europe - UK";
const EUROPE_GERMANY: &str = "Europe - Germany";
const EUROPE_FRANCE: &str = "Europe - France";
const EUROPE_ITALY: &str = "Europe - Italy";
const RUSSIA: &str = "Russia";
const ASIA_CHINA: &str = "Asia - China";
const ASIA_KOREA: &str = "Asia - Korea";
const OCEANIA_AUSTRALIA: &str = "Oceania - Australia";

/// Consumer domains and their provider, sorted by domain (a test checks it).
#[rustfmt::skip]
static DOMAINS: &[(&str, MailboxProvider)] = &[
    ("126.com", provider("NetEase", ASIA_CHINA)),
    ("163.com", provider("NetEase", ASIA_CHINA)),
    ("188.com", provider("NetEase", ASIA_CHINA)),
    ("aim.com", provider("AOL", NORTH_AMERICA)),
    ("ameritech.net", provider("AT&T", NORTH_AMERICA)),
    ("aol.co.uk", provider("AOL", EUROPE_UK)),
    ("aol.com", provider("AOL", NORTH_AMERICA)),
    ("aol.de", provider("AOL", EUROPE_GERMANY)),
    ("aol.fr", provider("AOL", EUROPE_FRANCE)),
    ("att.net", provider("AT&T", NORTH_AMERICA)),
    ("bellsouth.net", provider("AT&T", NORTH_AMERICA)),
    ("bigpond.com", provider("Telstra", OCEANIA_AUSTRALIA)),
    ("bigpond.net.au", provider("Telstra", OCEANIA_AUSTRALIA)),
    ("bk.ru", provider("Mail.ru", RUSSIA)),
    ("bol.com.br", provider("UOL", SOUTH_AMERICA_BRAZIL)),
    ("btinternet.com", provider("BT", EUROPE_UK)),
    ("btopenworld.com", provider("BT", EUROPE_UK)),
    ("charter.net", provider("Charter", NORTH_AMERICA)),
    ("comcast.net", provider("Comcast", NORTH_AMERICA)),
    ("cox.net", provider("Cox", NORTH_AMERICA)),
    ("foxmail.com", provider("QQ", ASIA_CHINA)),
    ("free.fr", provider("Free", EUROPE_FRANCE)),
    ("gmail.com", provider("Gmail", GLOBAL)),
    ("gmx.at", provider("GMX", EUROPE)),
    ("gmx.ch", provider("GMX", EUROPE)),
    ("gmx.co.uk", provider("GMX", EUROPE_UK)),
    ("gmx.com", provider("GMX", GLOBAL)),
    ("gmx.de", provider("GMX", EUROPE_GERMANY)),
    ("gmx.fr", provider("GMX", EUROPE_FRANCE)),
    ("gmx.net", provider("GMX", EUROPE_GERMANY)),
    ("gmx.us", provider("GMX", NORTH_AMERICA)),
    // Gmail's name in Germany and the United Kingdom for some years; the simulator reports it
    // in Europe - Germany.
    ("googlemail.com", provider("Gmail", EUROPE_GERMANY)),
    ("hotmail.be", provider("Outlook", EUROPE)),
    ("hotmail.ca", provider("Outlook", NORTH_AMERICA)),
    ("hotmail.co.uk", provider("Outlook", EUROPE_UK)),
    ("hotmail.com", provider("Outlook", GLOBAL)),
    ("hotmail.com.au", provider("Outlook", OCEANIA_AUSTRALIA)),
    ("hotmail.com.br", provider("Outlook", SOUTH_AMERICA_BRAZIL)),
    ("hotmail.de", provider("Outlook", EUROPE_GERMANY)),
    ("hotmail.es", provider("Outlook", EUROPE)),
    ("hotmail.fr", provider("Outlook", EUROPE_FRANCE)),
    ("hotmail.it", provider("Outlook", EUROPE_ITALY)),
    ("hotmail.nl", provider("Outlook", EUROPE)),
    ("icloud.com", provider("Apple", GLOBAL)),
    ("inbox.ru", provider("Mail.ru", RUSSIA)),
    ("internet.ru", provider("Mail.ru", RUSSIA)),
    ("libero.it", provider("Libero", EUROPE_ITALY)),
    ("list.ru", provider("Mail.ru", RUSSIA)),
    ("live.be", provider("Outlook", EUROPE)),
    ("live.ca", provider("Outlook", NORTH_AMERICA)),
    ("live.co.uk", provider("Outlook", EUROPE_UK)),
    ("live.com", provider("Outlook", GLOBAL)),
    ("live.com.au", provider("Outlook", OCEANIA_AUSTRALIA)),
    ("live.de", provider("Outlook", EUROPE_GERMANY)),
    ("live.fr", provider("Outlook", EUROPE_FRANCE)),
    ("live.it", provider("Outlook", EUROPE_ITALY)),
    ("live.nl", provider("Outlook", EUROPE)),
    ("mac.com", provider("Apple", GLOBAL)),
    ("mail.ru", provider("Mail.ru", RUSSIA)),
    ("me.com", provider("Apple", GLOBAL)),
    ("msn.com", provider("Outlook", GLOBAL)),
    ("naver.com", provider("Naver", ASIA_KOREA)),
    ("orange.fr", provider("Orange", EUROPE_FRANCE)),
    ("outlook.com", provider("Outlook", GLOBAL)),
    ("outlook.de", provider("Outlook", EUROPE_GERMANY)),
    ("outlook.es", provider("Outlook", EUROPE)),
    ("outlook.fr", provider("Outlook", EUROPE_FRANCE)),
    ("outlook.it", provider("Outlook", EUROPE_ITALY)),
    ("pacbell.net", provider("AT&T", NORTH_AMERICA)),
    ("pm.me", provider("Proton", GLOBAL)),
    ("prodigy.net", provider("AT&T", NORTH_AMERICA)),
    ("proton.me", provider("Proton", GLOBAL)),
    ("protonmail.ch", provider("Proton", GLOBAL)),
    ("protonmail.com", provider("Proton", GLOBAL)),
    ("qq.com", provider("QQ", ASIA_CHINA)),
    ("rocketmail.com", provider("Yahoo", GLOBAL)),
    ("sbcglobal.net", provider("AT&T", NORTH_AMERICA)),
    ("sky.com", provider("Sky", EUROPE_UK)),
    ("swbell.net", provider("AT&T", NORTH_AMERICA)),
    ("t-online.de", provider("T-Online", EUROPE_GERMANY)),
    ("uol.com.br", provider("UOL", SOUTH_AMERICA_BRAZIL)),
    ("verizon.net", provider("Verizon", NORTH_AMERICA)),
    ("vip.163.com", provider("NetEase", ASIA_CHINA)),
    ("vip.qq.com", provider("QQ", ASIA_CHINA)),
    ("wanadoo.fr", provider("Orange", EUROPE_FRANCE)),
    ("web.de", provider("Web.de", EUROPE_GERMANY)),
    ("windowslive.com", provider("Outlook", GLOBAL)),
    ("ya.ru", provider("Yandex", RUSSIA)),
    ("yahoo.ca", provider("Yahoo", NORTH_AMERICA)),
    ("yahoo.co.uk", provider("Yahoo", EUROPE_UK)),
    ("yahoo.com", provider("Yahoo", GLOBAL)),
    ("yahoo.com.au", provider("Yahoo", OCEANIA_AUSTRALIA)),
    ("yahoo.com.br", provider("Yahoo", SOUTH_AMERICA_BRAZIL)),
    ("yahoo.de", provider("Yahoo", EUROPE_GERMANY)),
    ("yahoo.es", provider("Yahoo", EUROPE)),
    ("yahoo.fr", provider("Yahoo", EUROPE_FRANCE)),
    ("yahoo.it", provider("Yahoo", EUROPE_ITALY)),
    ("yandex.by", provider("Yandex", RUSSIA)),
    ("yandex.com", provider("Yandex", RUSSIA)),
    ("yandex.kz", provider("Yandex", RUSSIA)),
    ("yandex.ru", provider("Yandex", RUSSIA)),
    ("yandex.ua", provider("Yandex", RUSSIA)),
    ("yeah.net", provider("NetEase", ASIA_CHINA)),
    ("ymail.com", provider("Yahoo", GLOBAL)),
    ("zoho.com", provider("Zoho", GLOBAL)),
    ("zohomail.com", provider("Zoho", GLOBAL)),
];

/// Host-name suffixes of the providers' inbound MX servers, sorted (a test checks it). A
/// suffix matches whole labels; the longest matching suffix wins.
#[rustfmt::skip]
static MX_SUFFIXES: &[(&str, MailboxProvider)] = &[
    ("126.com", provider("NetEase", ASIA_CHINA)),
    ("163.com", provider("NetEase", ASIA_CHINA)),
    ("aol.com", provider("AOL", NORTH_AMERICA)),
    ("bigpond.com", provider("Telstra", OCEANIA_AUSTRALIA)),
    ("charter.net", provider("Charter", NORTH_AMERICA)),
    ("comcast.net", provider("Comcast", NORTH_AMERICA)),
    ("cox.net", provider("Cox", NORTH_AMERICA)),
    ("free.fr", provider("Free", EUROPE_FRANCE)),
    // gmail.com's own MX hosts.
    ("gmail-smtp-in.l.google.com", provider("Gmail", GLOBAL)),
    ("gmx.net", provider("GMX", EUROPE_GERMANY)),
    // Google Workspace: aspmx.l.google.com, smtp.google.com, the older googlemail.com hosts.
    ("google.com", provider("Gsuite", GLOBAL)),
    ("googlemail.com", provider("Gsuite", GLOBAL)),
    ("hotmail.com", provider("Outlook", GLOBAL)),
    ("icloud.com", provider("Apple", GLOBAL)),
    ("libero.it", provider("Libero", EUROPE_ITALY)),
    ("mail.ru", provider("Mail.ru", RUSSIA)),
    ("naver.com", provider("Naver", ASIA_KOREA)),
    ("netease.com", provider("NetEase", ASIA_CHINA)),
    // Outlook.com's own domains are served by <domain>.olc.protection.outlook.com.
    ("olc.protection.outlook.com", provider("Outlook", GLOBAL)),
    ("orange.fr", provider("Orange", EUROPE_FRANCE)),
    // Microsoft 365 tenants: <domain>.mail.protection.outlook.com.
    ("outlook.com", provider("Office 365", GLOBAL)),
    ("prodigy.net", provider("AT&T", NORTH_AMERICA)),
    ("protection.outlook.com", provider("Office 365", GLOBAL)),
    ("protonmail.ch", provider("Proton", GLOBAL)),
    ("qq.com", provider("QQ", ASIA_CHINA)),
    ("t-online.de", provider("T-Online", EUROPE_GERMANY)),
    ("uol.com.br", provider("UOL", SOUTH_AMERICA_BRAZIL)),
    ("web.de", provider("Web.de", EUROPE_GERMANY)),
    // Yahoo, and AOL, Verizon, AT&T and Sky mailboxes hosted by Yahoo.
    ("yahoodns.net", provider("Yahoo", GLOBAL)),
    ("yandex.net", provider("Yandex", RUSSIA)),
    ("yandex.ru", provider("Yandex", RUSSIA)),
    ("zoho.com", provider("Zoho", GLOBAL)),
    ("zoho.eu", provider("Zoho", GLOBAL)),
    ("zoho.in", provider("Zoho", GLOBAL)),
];

/// The provider hosting a consumer domain's mailboxes, e.g. Gmail for `gmail.com`. The
/// lookup ignores ASCII case and one trailing dot (`Gmail.COM.`); anything but an exact
/// domain in the table is `None`, subdomains and look-alikes included.
///
/// ```
/// use eventhose_model::{mailbox_provider, mailbox_provider_for_mx};
///
/// let gmail = mailbox_provider("GMail.com").unwrap();
/// assert_eq!((gmail.name, gmail.region), ("Gmail", "Global"));
/// assert_eq!(mailbox_provider("yahoo.co.uk").unwrap().region, "Europe - UK");
/// assert_eq!(mailbox_provider("gmail.com.example.net"), None);
/// // A company's own domain: its MX host names the provider.
/// let hosted = mailbox_provider_for_mx("alt1.aspmx.l.google.com.").unwrap();
/// assert_eq!(hosted.name, "Gsuite");
/// ```
pub fn mailbox_provider(domain: &str) -> Option<MailboxProvider> {
    lookup(DOMAINS, without_root_dot(domain))
}

/// The provider whose inbound servers an MX host name belongs to, e.g. Gsuite for
/// `alt1.aspmx.l.google.com`: how a company's own domain hosted at a provider is recognised
/// once its MX record is known. The host must end with a known suffix at a label boundary
/// (`mx.notgoogle.com` is `None`); case and one trailing dot are ignored.
///
/// Look the domain up with [`mailbox_provider`] first: consumer domains name their provider
/// more precisely than their MX hosts do (AOL's and Verizon's mailboxes are served by Yahoo's
/// MX hosts, so by MX they are Yahoo).
pub fn mailbox_provider_for_mx(mx_host: &str) -> Option<MailboxProvider> {
    let host = without_root_dot(mx_host);
    label_suffixes(host).find_map(|suffix| lookup(MX_SUFFIXES, suffix))
}

/// `name` without the trailing dot of a fully qualified name.
fn without_root_dot(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// `host` and each of its suffixes that starts after a dot, longest first.
fn label_suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::once(host).chain(
        host.match_indices('.')
            .map(move |(index, _)| &host[index + 1..]),
    )
}

/// The provider of `name` in a table sorted by lower-case name, ignoring `name`'s ASCII case.
fn lookup(table: &[(&str, MailboxProvider)], name: &str) -> Option<MailboxProvider> {
    table
        .binary_search_by(|(entry, _)| compare_to_lowercase(entry, name))
        .ok()
        .map(|index| table[index].1)
}

/// Orders a lower-case table entry against `name` as if `name` were ASCII lower case.
fn compare_to_lowercase(entry: &str, name: &str) -> Ordering {
    entry
        .bytes()
        .cmp(name.bytes().map(|byte| byte.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_and_region(provider: Option<MailboxProvider>) -> Option<(&'static str, &'static str)> {
        provider.map(|provider| (provider.name, provider.region))
    }

    #[track_caller]
    fn assert_domains(name: &str, region: &str, domains: &[&str]) {
        for domain in domains {
            assert_eq!(
                name_and_region(mailbox_provider(domain)),
                Some((name, region)),
                "{domain}"
            );
        }
    }

    #[test]
    fn google() {
        assert_domains("Gmail", GLOBAL, &["gmail.com"]);
        assert_domains("Gmail", EUROPE_GERMANY, &["googlemail.com"]);
    }

    #[test]
    fn microsoft() {
        assert_domains(
            "Outlook",
            GLOBAL,
            &[
                "outlook.com",
                "hotmail.com",
                "live.com",
                "msn.com",
                "windowslive.com",
            ],
        );
        assert_domains("Outlook", EUROPE_UK, &["hotmail.co.uk", "live.co.uk"]);
        assert_domains(
            "Outlook",
            EUROPE_FRANCE,
            &["hotmail.fr", "live.fr", "outlook.fr"],
        );
        assert_domains(
            "Outlook",
            EUROPE_GERMANY,
            &["hotmail.de", "live.de", "outlook.de"],
        );
    }

    #[test]
    fn yahoo_and_aol() {
        assert_domains(
            "Yahoo",
            GLOBAL,
            &["yahoo.com", "ymail.com", "rocketmail.com"],
        );
        assert_domains("Yahoo", EUROPE_UK, &["yahoo.co.uk"]);
        assert_domains("Yahoo", SOUTH_AMERICA_BRAZIL, &["yahoo.com.br"]);
        assert_domains("AOL", NORTH_AMERICA, &["aol.com", "aim.com"]);
        // Yahoo Japan is a different company.
        assert_eq!(mailbox_provider("yahoo.co.jp"), None);
    }

    #[test]
    fn apple() {
        assert_domains("Apple", GLOBAL, &["icloud.com", "me.com", "mac.com"]);
    }

    #[test]
    fn european_providers() {
        assert_domains("GMX", EUROPE_GERMANY, &["gmx.de", "gmx.net"]);
        assert_domains("Web.de", EUROPE_GERMANY, &["web.de"]);
        assert_domains("T-Online", EUROPE_GERMANY, &["t-online.de"]);
        assert_domains("Orange", EUROPE_FRANCE, &["orange.fr", "wanadoo.fr"]);
        assert_domains("Free", EUROPE_FRANCE, &["free.fr"]);
        assert_domains("Libero", EUROPE_ITALY, &["libero.it"]);
        assert_domains("BT", EUROPE_UK, &["btinternet.com"]);
        assert_domains("Sky", EUROPE_UK, &["sky.com"]);
    }

    #[test]
    fn russian_providers() {
        assert_domains(
            "Mail.ru",
            RUSSIA,
            &["mail.ru", "bk.ru", "inbox.ru", "list.ru"],
        );
        assert_domains("Yandex", RUSSIA, &["yandex.ru", "yandex.com", "ya.ru"]);
    }

    #[test]
    fn asian_providers() {
        assert_domains("QQ", ASIA_CHINA, &["qq.com", "foxmail.com"]);
        assert_domains("NetEase", ASIA_CHINA, &["163.com", "126.com", "yeah.net"]);
        assert_domains("Naver", ASIA_KOREA, &["naver.com"]);
    }

    #[test]
    fn american_and_australian_providers() {
        assert_domains("Comcast", NORTH_AMERICA, &["comcast.net"]);
        assert_domains(
            "AT&T",
            NORTH_AMERICA,
            &["att.net", "sbcglobal.net", "bellsouth.net"],
        );
        assert_domains("Verizon", NORTH_AMERICA, &["verizon.net"]);
        assert_domains("Cox", NORTH_AMERICA, &["cox.net"]);
        assert_domains("Charter", NORTH_AMERICA, &["charter.net"]);
        assert_domains("UOL", SOUTH_AMERICA_BRAZIL, &["uol.com.br", "bol.com.br"]);
        assert_domains("Telstra", OCEANIA_AUSTRALIA, &["bigpond.com"]);
    }

    #[test]
    fn privacy_providers() {
        assert_domains("Proton", GLOBAL, &["protonmail.com", "proton.me", "pm.me"]);
        assert_domains("Zoho", GLOBAL, &["zoho.com"]);
    }

    #[test]
    fn lookup_ignores_case_and_a_trailing_dot() {
        assert_domains("Gmail", GLOBAL, &["Gmail.COM", "gmail.com.", "GMAIL.COM."]);
        assert_eq!(mailbox_provider("gmail.com.."), None);
    }

    #[test]
    fn look_alikes_and_subdomains_match_nothing() {
        for domain in [
            "notgmail.com",
            "gmail.com.evil.net",
            "mail.gmail.com",
            "gmail.co",
            "gmail",
            "gmailcom",
            ".gmail.com",
            " gmail.com",
            "",
            ".",
            "example.com",
            "gmaıl.com",
            "yahoo.co.jp",
            "hotmail.xyz",
        ] {
            assert_eq!(mailbox_provider(domain), None, "{domain:?}");
        }
    }

    #[test]
    fn mx_hosts_give_hosting_providers() {
        let cases = [
            ("aspmx.l.google.com", "Gsuite"),
            ("alt2.aspmx.l.google.com.", "Gsuite"),
            ("smtp.google.com", "Gsuite"),
            ("ASPMX2.GOOGLEMAIL.COM", "Gsuite"),
            ("gmail-smtp-in.l.google.com", "Gmail"),
            ("alt1.gmail-smtp-in.l.google.com", "Gmail"),
            ("example-com.mail.protection.outlook.com", "Office 365"),
            ("hotmail-com.olc.protection.outlook.com", "Outlook"),
            ("mta5.am0.yahoodns.net", "Yahoo"),
            ("mx01.mail.icloud.com", "Apple"),
            ("mx00.gmx.net", "GMX"),
            ("mx-ha03.web.de", "Web.de"),
            ("mxs.mail.ru", "Mail.ru"),
            ("mx.yandex.net", "Yandex"),
            ("mx1.qq.com", "QQ"),
            ("163mx01.mxmail.netease.com", "NetEase"),
            ("mx1.comcast.net", "Comcast"),
            ("mx.zoho.eu", "Zoho"),
            ("mailsec.protonmail.ch", "Proton"),
        ];
        for (host, name) in cases {
            assert_eq!(
                mailbox_provider_for_mx(host).map(|p| p.name),
                Some(name),
                "{host}"
            );
        }
    }

    #[test]
    fn mx_hosts_match_at_label_boundaries_only() {
        for host in [
            "mx.notgoogle.com",
            "google.com.evil.net",
            "mx.example.com",
            "com",
            "",
            ".",
            "outlook.com.example.net",
            "mail.protection-outlook.com",
        ] {
            assert_eq!(mailbox_provider_for_mx(host), None, "{host:?}");
        }
    }

    #[test]
    fn tables_are_sorted_lower_case_and_unique() {
        for table in [DOMAINS, MX_SUFFIXES] {
            assert!(table.windows(2).all(|pair| pair[0].0 < pair[1].0));
            for (name, _) in table {
                assert_eq!(*name, name.to_ascii_lowercase());
                assert!(!name.starts_with('.') && !name.ends_with('.'), "{name}");
            }
        }
    }

    #[test]
    fn names_and_regions_are_the_ones_reported_elsewhere() {
        // The providers and regions of the simulator's catalog
        // (crates/simulator/src/catalog/providers.rs), plus "Europe" for other European
        // countries, as SparkPost's samples report it.
        let names = [
            "Gmail",
            "Gsuite",
            "Yahoo",
            "Outlook",
            "Office 365",
            "Apple",
            "AOL",
            "GMX",
            "Web.de",
            "T-Online",
            "Orange",
            "Free",
            "Libero",
            "Comcast",
            "AT&T",
            "Verizon",
            "Cox",
            "Charter",
            "BT",
            "Sky",
            "Mail.ru",
            "Yandex",
            "QQ",
            "NetEase",
            "Naver",
            "UOL",
            "Telstra",
            "Proton",
            "Zoho",
        ];
        let regions = [
            GLOBAL,
            NORTH_AMERICA,
            SOUTH_AMERICA_BRAZIL,
            EUROPE,
            EUROPE_UK,
            EUROPE_GERMANY,
            EUROPE_FRANCE,
            EUROPE_ITALY,
            RUSSIA,
            ASIA_CHINA,
            ASIA_KOREA,
            OCEANIA_AUSTRALIA,
        ];
        for (_, provider) in DOMAINS.iter().chain(MX_SUFFIXES) {
            assert!(names.contains(&provider.name), "{}", provider.name);
            assert!(regions.contains(&provider.region), "{}", provider.region);
        }
    }
}
