//! The simulated sender's world: recipient domains, sending domains, campaigns, templates,
//! IP pools and subaccounts, built once per run from the configuration and seed.

pub(crate) mod clients;
pub(crate) mod providers;
pub(crate) mod responses;
pub(crate) mod words;

use std::collections::HashSet;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::SimConfig;
use crate::ids::mix64;
use providers::{GSUITE, HEAD_DOMAINS, OFFICE365, OTHER, TAIL_TLDS, TAIL_WEIGHT};
use words::{
    BRAND_WORDS, FIRST_NAMES, FROM_LOCALS, LAST_NAMES, LINKS, MARKETING_THEMES, POOL_NAMES, TAGS,
    TRANSACTIONAL_THEMES,
};

/// A recipient domain and who hosts its mailboxes.
#[derive(Debug)]
pub(crate) struct RecipientDomain {
    pub(crate) name: String,
    pub(crate) provider: usize,
    pub(crate) region: &'static str,
}

/// A domain the customer sends from.
#[derive(Debug)]
pub(crate) struct SendingDomain {
    pub(crate) name: String,
    /// Brand site used in tracked links.
    pub(crate) website: String,
    /// Return-path domain used in `msg_from`.
    pub(crate) bounce_domain: String,
}

/// A campaign and everything its transmissions share.
#[derive(Debug)]
pub(crate) struct Campaign {
    pub(crate) id: String,
    pub(crate) subject: &'static str,
    pub(crate) transactional: bool,
    pub(crate) subaccount: u64,
    pub(crate) sending_domain: usize,
    pub(crate) from_local: &'static str,
    pub(crate) pool: usize,
    pub(crate) template: usize,
    pub(crate) tags: Vec<&'static str>,
    pub(crate) ab_test: Option<String>,
    pub(crate) recv_method: &'static str,
    pub(crate) open_tracking: bool,
    pub(crate) click_tracking: bool,
    pub(crate) initial_pixel: bool,
    /// Median message size in bytes.
    pub(crate) size_median: f64,
}

/// A message template.
#[derive(Debug)]
pub(crate) struct Template {
    pub(crate) id: String,
    /// Indices into [`words::LINKS`] of its tracked links.
    pub(crate) links: Vec<usize>,
    /// Highest published version.
    pub(crate) max_version: u8,
}

/// An IP pool and its sending IPs.
#[derive(Debug)]
pub(crate) struct IpPool {
    pub(crate) name: String,
    pub(crate) ips: Vec<String>,
}

/// Everything the run's messages are drawn from.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) domains: Vec<RecipientDomain>,
    /// Cumulative share of mail per domain (last entry is 1.0).
    domain_cdf: Vec<f64>,
    pub(crate) sending_domains: Vec<SendingDomain>,
    pub(crate) campaigns: Vec<Campaign>,
    /// Cumulative share of transmissions per campaign.
    campaign_cdf: Vec<f64>,
    pub(crate) templates: Vec<Template>,
    pub(crate) pools: Vec<IpPool>,
    recipient_key: u64,
}

/// Both theme lists, marketing first.
fn theme(i: usize) -> (&'static str, &'static str, bool) {
    let m = MARKETING_THEMES.len();
    let all = m + TRANSACTIONAL_THEMES.len();
    let k = i % all;
    if k < m {
        (MARKETING_THEMES[k].0, MARKETING_THEMES[k].1, false)
    } else {
        let (stem, subject) = TRANSACTIONAL_THEMES[k - m];
        (stem, subject, true)
    }
}

/// `stem` for the first use, `stem-2`, `stem-3`… for later rounds.
fn numbered(stem: &str, i: usize, period: usize) -> String {
    let round = i / period;
    if round == 0 {
        stem.to_owned()
    } else {
        format!("{stem}-{}", round + 1)
    }
}

/// Turns weights into a cumulative distribution ending at exactly 1.0.
fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

/// Index drawn from a cumulative distribution with the uniform value `u` in `[0, 1)`.
fn pick_cdf(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

/// The `i`-th sending IP address.
fn sending_ip(i: u32) -> String {
    const NETS: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    let net = (i / 254) as usize;
    let host = i % 254 + 1;
    if let Some([a, b, c]) = NETS.get(net) {
        format!("{a}.{b}.{c}.{host}")
    } else {
        // Beyond the documentation ranges, continue in the benchmarking range 198.18.0.0/15.
        let subnet = net - NETS.len();
        format!("198.{}.{}.{host}", 18 + subnet / 256, subnet % 256)
    }
}

/// An index into one of the catalogue's configured tables (domains, campaigns, a pool's
/// IPs), as messages store it.
// Those tables are sized by `u32` counts of the configuration: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn table_index(index: usize) -> u32 {
    index as u32
}

impl Catalog {
    /// Builds the catalogue for a (validated) configuration.
    pub(crate) fn build(config: &SimConfig) -> Catalog {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(1);
        let size = &config.catalog;
        let (domains, domain_cdf) = build_domains(&mut rng, size.recipient_domains as usize);
        let sending_domains = build_sending_domains(&mut rng, size.sending_domains as usize);
        let templates = build_templates(&mut rng, size.templates as usize);
        let pools = build_pools(size.ip_pools, size.sending_ips);
        let subaccounts: Vec<u64> = (0..=u64::from(size.subaccounts)).collect();
        let campaigns: Vec<Campaign> = (0..size.campaigns as usize)
            .map(|i| {
                build_campaign(
                    &mut rng,
                    i,
                    &subaccounts,
                    sending_domains.len(),
                    &templates,
                    pools.len(),
                )
            })
            .collect();
        let campaign_weights: Vec<f64> = (0..campaigns.len())
            .map(|i| 1.0 / (i as f64 + 1.0).powf(0.8))
            .collect();
        Catalog {
            domains,
            domain_cdf,
            sending_domains,
            campaigns,
            campaign_cdf: cumulative(&campaign_weights),
            templates,
            pools,
            recipient_key: mix64(config.seed ^ 0x7263_7074),
        }
    }

    /// Draws a campaign index, big campaigns more often.
    pub(crate) fn pick_campaign(&self, rng: &mut impl Rng) -> usize {
        pick_cdf(&self.campaign_cdf, rng.random::<f64>())
    }

    /// The stable hash of recipient number `recipient`.
    fn recipient_hash(&self, recipient: u64) -> u64 {
        mix64(recipient ^ self.recipient_key)
    }

    /// The domain index of recipient number `recipient` (stable for the run).
    pub(crate) fn recipient_domain(&self, recipient: u64) -> usize {
        let h = mix64(self.recipient_hash(recipient));
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        pick_cdf(&self.domain_cdf, u)
    }

    /// Writes the lower-case address of recipient number `recipient` into `out`.
    pub(crate) fn recipient_address(&self, recipient: u64, out: &mut String) {
        let h = self.recipient_hash(recipient);
        let first = FIRST_NAMES[(h & 63) as usize];
        let last = LAST_NAMES[((h >> 6) & 63) as usize];
        let two = (h >> 12) % 100;
        let four = 1950 + (h >> 20) % 60;
        out.clear();
        match (h >> 32) % 8 {
            0 => {
                out.push_str(first);
                out.push('.');
                out.push_str(last);
            }
            1 => {
                out.push_str(first);
                out.push_str(last);
                push_number(out, two);
            }
            2 => {
                out.push_str(&first[..1]);
                out.push('.');
                out.push_str(last);
            }
            3 => {
                out.push_str(first);
                out.push('_');
                out.push_str(last);
            }
            4 => {
                out.push_str(first);
                out.push('.');
                out.push_str(last);
                push_number(out, two);
            }
            5 => {
                out.push_str(first);
                push_number(out, four);
            }
            6 => {
                out.push_str(last);
                out.push('.');
                out.push_str(first);
            }
            _ => {
                out.push_str(first);
                out.push_str(&last[..1]);
                push_number(out, (h >> 40) % 1000);
            }
        }
        out.push('@');
        out.push_str(&self.domains[self.recipient_domain(recipient)].name);
    }
}

fn push_number(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    out.push_str(crate::render::format_u64(n, &mut buf));
}

fn build_domains(rng: &mut ChaCha8Rng, count: usize) -> (Vec<RecipientDomain>, Vec<f64>) {
    let head_count = count.min(HEAD_DOMAINS.len());
    let mut domains = Vec::with_capacity(count);
    let mut weights = Vec::with_capacity(count);
    let mut taken: HashSet<String> = HashSet::new();
    for d in &HEAD_DOMAINS[..head_count] {
        domains.push(RecipientDomain {
            name: d.name.to_owned(),
            provider: d.provider,
            region: d.region,
        });
        taken.insert(d.name.to_owned());
        weights.push(d.weight);
    }
    let tail = count - head_count;
    let harmonic: f64 = (1..=tail).map(|k| 1.0 / k as f64).sum();
    for k in 0..tail {
        let (tld, region) = TAIL_TLDS[rng.random_range(0..TAIL_TLDS.len())];
        let mut name = format!(
            "{}{}.{tld}",
            BRAND_WORDS[rng.random_range(0..BRAND_WORDS.len())],
            BRAND_WORDS[rng.random_range(0..BRAND_WORDS.len())],
        );
        if taken.contains(&name) {
            name = format!("{}{k}.{tld}", name.split('.').next().unwrap_or("mail"));
        }
        taken.insert(name.clone());
        let roll: f64 = rng.random();
        let provider = if roll < 0.35 {
            GSUITE
        } else if roll < 0.75 {
            OFFICE365
        } else {
            OTHER
        };
        domains.push(RecipientDomain {
            name,
            provider,
            region,
        });
        weights.push(TAIL_WEIGHT / harmonic / (k as f64 + 1.0));
    }
    let cdf = cumulative(&weights);
    (domains, cdf)
}

fn build_sending_domains(rng: &mut ChaCha8Rng, count: usize) -> Vec<SendingDomain> {
    let mut taken = HashSet::new();
    (0..count)
        .map(|i| {
            let mut brand = format!(
                "{}{}",
                BRAND_WORDS[rng.random_range(0..BRAND_WORDS.len())],
                BRAND_WORDS[rng.random_range(0..BRAND_WORDS.len())]
            );
            if !taken.insert(brand.clone()) {
                brand = format!("{brand}{i}");
                taken.insert(brand.clone());
            }
            let tld = ["com", "com", "com", "io", "co", "de"][rng.random_range(0..6)];
            let name = format!("{brand}.{tld}");
            SendingDomain {
                name,
                website: format!("https://www.{brand}.{tld}"),
                bounce_domain: format!("bounces.{brand}.{tld}"),
            }
        })
        .collect()
}

fn build_templates(rng: &mut ChaCha8Rng, count: usize) -> Vec<Template> {
    let themes = MARKETING_THEMES.len() + TRANSACTIONAL_THEMES.len();
    (0..count)
        .map(|j| {
            let (stem, _, _) = theme(j);
            let n_links = rng.random_range(3..=6);
            let mut links: Vec<usize> = (0..LINKS.len()).collect();
            // A partial Fisher-Yates shuffle picks distinct links.
            for k in 0..n_links {
                let swap = rng.random_range(k..links.len());
                links.swap(k, swap);
            }
            links.truncate(n_links);
            Template {
                id: numbered(stem, j, themes),
                links,
                max_version: rng.random_range(0..8),
            }
        })
        .collect()
}

fn build_pools(pools: u32, ips: u32) -> Vec<IpPool> {
    let mut out: Vec<IpPool> = (0..pools as usize)
        .map(|p| IpPool {
            name: numbered(POOL_NAMES[p % POOL_NAMES.len()], p, POOL_NAMES.len()),
            ips: Vec::new(),
        })
        .collect();
    for i in 0..ips {
        out[(i % pools) as usize].ips.push(sending_ip(i));
    }
    out
}

fn build_campaign(
    rng: &mut ChaCha8Rng,
    i: usize,
    subaccounts: &[u64],
    sending_domains: usize,
    templates: &[Template],
    pools: usize,
) -> Campaign {
    let themes = MARKETING_THEMES.len() + TRANSACTIONAL_THEMES.len();
    let (stem, subject, transactional) = theme(i);
    // The primary account sends about 40% of campaigns; subaccounts share the rest.
    let sub_index = if subaccounts.len() == 1 || rng.random_bool(0.4) {
        0
    } else {
        rng.random_range(1..subaccounts.len())
    };
    let owned: Vec<usize> = (0..sending_domains)
        .filter(|d| d % subaccounts.len() == sub_index)
        .collect();
    let sending_domain = owned
        .choose(rng)
        .copied()
        .unwrap_or(sub_index % sending_domains);
    let template = if i % themes < templates.len() {
        i % themes
    } else {
        rng.random_range(0..templates.len())
    };
    let pool = match (transactional, pools) {
        (_, 1) => 0,
        (true, _) => 1,
        (false, 2) => 0,
        (false, n) => [0, 2, 3, 4, 5][rng.random_range(0..(n - 1).min(5))].min(n - 1),
    };
    let n_tags = rng.random_range(0..=2);
    let tags = TAGS.choose_multiple(rng, n_tags).copied().collect();
    let ab_test = (!transactional && rng.random_bool(0.1)).then(|| format!("{stem}-subject-test"));
    let recv_method = if rng.random_bool(if transactional { 0.6 } else { 0.95 }) {
        "rest"
    } else {
        "esmtp"
    };
    let open_tracking = rng.random_bool(if transactional { 0.7 } else { 0.98 });
    Campaign {
        id: numbered(stem, i, themes),
        subject,
        transactional,
        subaccount: subaccounts[sub_index],
        sending_domain,
        from_local: FROM_LOCALS[rng.random_range(0..FROM_LOCALS.len())],
        pool,
        template,
        tags,
        ab_test,
        recv_method,
        open_tracking,
        click_tracking: open_tracking || rng.random_bool(0.5),
        initial_pixel: rng.random_bool(0.9),
        size_median: if transactional { 12_000.0 } else { 32_000.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::build(&SimConfig::default())
    }

    #[test]
    fn sizes_follow_the_config() {
        let c = catalog();
        let size = SimConfig::default().catalog;
        assert_eq!(c.domains.len(), size.recipient_domains as usize);
        assert_eq!(c.campaigns.len(), size.campaigns as usize);
        assert_eq!(c.templates.len(), size.templates as usize);
        assert_eq!(c.pools.len(), size.ip_pools as usize);
        let ips: usize = c.pools.iter().map(|p| p.ips.len()).sum();
        assert_eq!(ips, size.sending_ips as usize);
        assert!(c.pools.iter().all(|p| !p.ips.is_empty()));
    }

    #[test]
    fn domain_names_are_unique() {
        let c = catalog();
        let names: HashSet<&str> = c.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), c.domains.len());
    }

    #[test]
    fn recipient_domains_are_skewed_towards_the_head() {
        let c = catalog();
        let mut gmail = 0;
        let n = 100_000;
        for r in 0..n {
            if c.domains[c.recipient_domain(r)].name == "gmail.com" {
                gmail += 1;
            }
        }
        let share = gmail as f64 / n as f64;
        assert!((0.25..0.35).contains(&share), "gmail share {share}");
    }

    #[test]
    fn recipient_addresses_are_stable_lowercase_and_match_their_domain() {
        let c = catalog();
        let mut a = String::new();
        let mut b = String::new();
        for r in [0, 1, 77, 123_456] {
            c.recipient_address(r, &mut a);
            c.recipient_address(r, &mut b);
            assert_eq!(a, b);
            assert_eq!(a, a.to_lowercase());
            let domain = &c.domains[c.recipient_domain(r)].name;
            assert!(a.ends_with(&format!("@{domain}")), "{a}");
        }
    }

    #[test]
    fn sending_ips_are_unique() {
        let ips: HashSet<String> = (0..2_000).map(sending_ip).collect();
        assert_eq!(ips.len(), 2_000);
    }

    #[test]
    fn cdf_pick_covers_every_index() {
        let cdf = cumulative(&[1.0, 1.0, 2.0]);
        assert_eq!(pick_cdf(&cdf, 0.0), 0);
        assert_eq!(pick_cdf(&cdf, 0.3), 1);
        assert_eq!(pick_cdf(&cdf, 0.99), 2);
    }
}
