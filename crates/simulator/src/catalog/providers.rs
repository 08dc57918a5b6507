//! Mailbox providers and the big consumer recipient domains they host.

/// Provider families whose SMTP answers have a recognisable wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Google,
    Yahoo,
    Microsoft,
    Apple,
    Other,
}

/// Who fetches the tracking pixel when a recipient of this provider opens a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelFetcher {
    /// The recipient's own device.
    Device,
    /// Google's image proxy.
    GoogleProxy,
    /// Yahoo's image proxy.
    YahooProxy,
    /// Apple Mail Privacy Protection.
    ApplePrivacy,
}

/// A mailbox provider as reported in `mailbox_provider`.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) name: &'static str,
    pub(crate) family: Family,
    /// `/16` prefixes its inbound MX hosts live in.
    pub(crate) mx_blocks: &'static [[u8; 2]],
    /// Whether it renders AMP for email.
    pub(crate) amp: bool,
    /// `report_by` on spam complaints coming through its feedback loop.
    pub(crate) fbl_reporter: &'static str,
    pub(crate) pixel: PixelFetcher,
}

macro_rules! provider {
    ($name:expr, $family:ident, $blocks:expr, $amp:expr, $fbl:expr, $pixel:ident) => {
        Provider {
            name: $name,
            family: Family::$family,
            mx_blocks: $blocks,
            amp: $amp,
            fbl_reporter: $fbl,
            pixel: PixelFetcher::$pixel,
        }
    };
}

/// Index of the Gsuite provider (hosted business domains on Google).
pub(crate) const GSUITE: usize = 1;
/// Index of the Office 365 provider (hosted business domains on Microsoft).
pub(crate) const OFFICE365: usize = 4;
/// Index of the catch-all provider for small self-hosted domains.
pub(crate) const OTHER: usize = PROVIDERS.len() - 1;

/// Every provider the simulator knows.
pub(crate) static PROVIDERS: [Provider; 30] = [
    provider!(
        "Gmail",
        Google,
        &[[142, 250], [74, 125], [172, 253]],
        true,
        "feedback@google.com",
        GoogleProxy
    ),
    provider!(
        "Gsuite",
        Google,
        &[[142, 250], [172, 217], [64, 233]],
        true,
        "feedback@google.com",
        GoogleProxy
    ),
    provider!(
        "Yahoo",
        Yahoo,
        &[[67, 195], [98, 136]],
        true,
        "feedback@arf.mail.yahoo.com",
        YahooProxy
    ),
    provider!(
        "Outlook",
        Microsoft,
        &[[52, 101], [104, 47]],
        false,
        "staff@hotmail.com",
        Device
    ),
    provider!(
        "Office 365",
        Microsoft,
        &[[52, 101], [40, 93], [104, 47]],
        false,
        "staff@hotmail.com",
        Device
    ),
    provider!(
        "Apple",
        Apple,
        &[[17, 57], [17, 42]],
        false,
        "abuse@icloud.com",
        ApplePrivacy
    ),
    provider!(
        "AOL",
        Yahoo,
        &[[67, 195], [98, 136]],
        true,
        "scomp@aol.net",
        YahooProxy
    ),
    provider!("GMX", Other, &[[212, 227]], false, "abuse@gmx.net", Device),
    provider!(
        "Web.de",
        Other,
        &[[212, 227]],
        false,
        "abuse@web.de",
        Device
    ),
    provider!(
        "T-Online",
        Other,
        &[[194, 25]],
        false,
        "abuse@t-online.de",
        Device
    ),
    provider!(
        "Orange",
        Other,
        &[[193, 252]],
        false,
        "abuse@orange.fr",
        Device
    ),
    provider!("Free", Other, &[[212, 27]], false, "abuse@free.fr", Device),
    provider!(
        "Libero",
        Other,
        &[[213, 209]],
        false,
        "abuse@libero.it",
        Device
    ),
    provider!(
        "Comcast",
        Other,
        &[[96, 114], [68, 87]],
        false,
        "feedback@comcast.net",
        Device
    ),
    provider!(
        "AT&T",
        Yahoo,
        &[[67, 195]],
        false,
        "abuse@att.net",
        YahooProxy
    ),
    provider!(
        "Verizon",
        Yahoo,
        &[[98, 136]],
        false,
        "abuse@verizon.net",
        YahooProxy
    ),
    provider!("Cox", Other, &[[68, 99]], false, "abuse@cox.net", Device),
    provider!(
        "Charter",
        Other,
        &[[47, 43]],
        false,
        "abuse@charter.net",
        Device
    ),
    provider!(
        "BT",
        Yahoo,
        &[[65, 20]],
        false,
        "abuse@btinternet.com",
        Device
    ),
    provider!("Sky", Yahoo, &[[67, 195]], false, "abuse@sky.com", Device),
    provider!(
        "Mail.ru",
        Other,
        &[[94, 100]],
        true,
        "fbl@corp.mail.ru",
        Device
    ),
    provider!("Yandex", Other, &[[77, 88]], false, "fbl@yandex.ru", Device),
    provider!("QQ", Other, &[[183, 3]], false, "abuse@qq.com", Device),
    provider!(
        "NetEase",
        Other,
        &[[220, 181]],
        false,
        "abuse@163.com",
        Device
    ),
    provider!(
        "Naver",
        Other,
        &[[125, 209]],
        false,
        "abuse@naver.com",
        Device
    ),
    provider!(
        "UOL",
        Other,
        &[[200, 147]],
        false,
        "abuse@uol.com.br",
        Device
    ),
    provider!(
        "Telstra",
        Other,
        &[[203, 36]],
        false,
        "abuse@bigpond.com",
        Device
    ),
    provider!(
        "Proton",
        Other,
        &[[185, 70]],
        false,
        "abuse@proton.me",
        Device
    ),
    provider!(
        "Zoho",
        Other,
        &[[136, 143]],
        false,
        "abuse@zoho.com",
        Device
    ),
    provider!(
        "Other",
        Other,
        &[[185, 199], [213, 186], [51, 89], [37, 187], [91, 121]],
        false,
        "abuse@spamcop.net",
        Device
    ),
];

/// A well-known consumer domain and its share of a typical sender's mail (in percent).
pub(crate) struct HeadDomain {
    pub(crate) name: &'static str,
    pub(crate) provider: usize,
    pub(crate) region: &'static str,
    pub(crate) weight: f64,
}

const fn head(
    name: &'static str,
    provider: usize,
    region: &'static str,
    weight: f64,
) -> HeadDomain {
    HeadDomain {
        name,
        provider,
        region,
        weight,
    }
}

/// Share of all mail, in percent, going to the long tail of small domains.
pub(crate) const TAIL_WEIGHT: f64 = 25.0;

/// Big consumer domains, biggest first.
pub(crate) static HEAD_DOMAINS: [HeadDomain; 40] = [
    head("gmail.com", 0, "Global", 30.0),
    head("yahoo.com", 2, "Global", 8.0),
    head("hotmail.com", 3, "Global", 5.0),
    head("icloud.com", 5, "Global", 4.0),
    head("outlook.com", 3, "Global", 3.5),
    head("aol.com", 6, "North America", 2.5),
    head("live.com", 3, "Global", 1.5),
    head("comcast.net", 13, "North America", 1.2),
    head("gmx.de", 7, "Europe - Germany", 1.0),
    head("web.de", 8, "Europe - Germany", 1.0),
    head("msn.com", 3, "Global", 0.8),
    head("me.com", 5, "Global", 0.8),
    head("yahoo.co.uk", 2, "Europe - UK", 0.8),
    head("t-online.de", 9, "Europe - Germany", 0.8),
    head("gmx.net", 7, "Europe - Germany", 0.7),
    head("orange.fr", 10, "Europe - France", 0.7),
    head("hotmail.co.uk", 3, "Europe - UK", 0.6),
    head("att.net", 14, "North America", 0.6),
    head("googlemail.com", 0, "Europe - Germany", 0.5),
    head("free.fr", 11, "Europe - France", 0.5),
    head("sbcglobal.net", 14, "North America", 0.5),
    head("libero.it", 12, "Europe - Italy", 0.4),
    head("verizon.net", 15, "North America", 0.4),
    head("btinternet.com", 18, "Europe - UK", 0.4),
    head("mail.ru", 20, "Russia", 0.4),
    head("mac.com", 5, "Global", 0.3),
    head("cox.net", 16, "North America", 0.3),
    head("sky.com", 19, "Europe - UK", 0.3),
    head("yandex.ru", 21, "Russia", 0.3),
    head("qq.com", 22, "Asia - China", 0.3),
    head("ymail.com", 2, "Global", 0.3),
    head("protonmail.com", 27, "Global", 0.3),
    head("charter.net", 17, "North America", 0.2),
    head("163.com", 23, "Asia - China", 0.2),
    head("naver.com", 24, "Asia - Korea", 0.2),
    head("uol.com.br", 25, "South America - Brazil", 0.2),
    head("bigpond.com", 26, "Oceania - Australia", 0.2),
    head("hotmail.fr", 3, "Europe - France", 0.2),
    head("rocketmail.com", 2, "Global", 0.1),
    head("zoho.com", 28, "Global", 0.1),
];

/// Top-level domains of the long tail, with the region their mailbox is reported in.
pub(crate) static TAIL_TLDS: [(&str, &str); 12] = [
    ("com", "North America"),
    ("com", "North America"),
    ("com", "Global"),
    ("net", "North America"),
    ("org", "North America"),
    ("io", "Global"),
    ("co.uk", "Europe - UK"),
    ("de", "Europe - Germany"),
    ("fr", "Europe - France"),
    ("it", "Europe - Italy"),
    ("com.au", "Oceania - Australia"),
    ("ca", "North America"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_indices_point_at_the_right_providers() {
        assert_eq!(PROVIDERS[GSUITE].name, "Gsuite");
        assert_eq!(PROVIDERS[OFFICE365].name, "Office 365");
        assert_eq!(PROVIDERS[OTHER].name, "Other");
    }

    #[test]
    fn head_domains_reference_valid_providers_and_are_sorted() {
        let mut last = f64::INFINITY;
        for d in &HEAD_DOMAINS {
            assert!(d.provider < PROVIDERS.len(), "{}", d.name);
            assert!(d.weight <= last, "{} out of order", d.name);
            last = d.weight;
        }
        let gmail = &HEAD_DOMAINS[0];
        assert_eq!(PROVIDERS[gmail.provider].name, "Gmail");
        assert_eq!(PROVIDERS[HEAD_DOMAINS[5].provider].name, "AOL");
    }

    #[test]
    fn every_provider_has_an_mx_block() {
        assert!(PROVIDERS.iter().all(|p| !p.mx_blocks.is_empty()));
    }
}
