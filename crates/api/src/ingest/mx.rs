//! The mailbox provider of a recipient domain the model's table does not know, from the
//! domain's MX hosts: a company's own domain hosted at Microsoft 365 or Google Workspace is
//! recognised by `*.mail.protection.outlook.com` or `aspmx.l.google.com`
//! ([`eventhose_model::mailbox_provider_for_mx`]).
//!
//! Lookups go to the system's resolver (or the configured name servers) and every outcome is
//! cached per domain: an answer for `cache_secs`, a failure (timeout, refusal) for
//! `failure_cache_secs`, at most `max_domains` domains. A request waits at most `wait_ms` for
//! the lookups of its new domains; one not answered by then finishes in the background for
//! the next request, and the events of this one are stored without a provider (the Metrics
//! API then groups them under none). Concurrent requests for one domain share one lookup.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhose_model::{mailbox_provider_for_mx, MailboxProvider};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Serialize};

/// How MX hosts are looked up (`[ingest.mx_lookup]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MxLookupSettings {
    /// Whether unknown domains are looked up at all (`false`: no DNS traffic).
    pub enabled: bool,
    /// Name servers to ask (`"127.0.0.1:53"`); empty: the system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// How long a request waits for its new domains' lookups, in milliseconds.
    pub wait_ms: u64,
    /// How long one query may take before it counts as failed, in milliseconds.
    pub query_timeout_ms: u64,
    /// How long an answer (a provider, or none) is kept, in seconds.
    pub cache_secs: u64,
    /// How long a failed lookup is kept before the domain is asked again, in seconds.
    pub failure_cache_secs: u64,
    /// Most domains kept in the cache.
    pub max_domains: u64,
}

impl Default for MxLookupSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            nameservers: Vec::new(),
            wait_ms: 300,
            query_timeout_ms: 2_000,
            cache_secs: 3_600,
            failure_cache_secs: 60,
            max_domains: 100_000,
        }
    }
}

/// Why the resolver could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the MX resolver")]
pub struct MxLookupError(#[source] hickory_resolver::net::NetError);

/// What the cache holds for a domain.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// The DNS answered: the provider its MX hosts name, if any.
    Answered(Option<MailboxProvider>),
    /// No answer (timeout, refusal, no name server reachable).
    Failed,
}

/// Keeps answers and failures for their own times.
struct OutcomeExpiry {
    answered: Duration,
    failed: Duration,
}

impl moka::Expiry<String, Outcome> for OutcomeExpiry {
    fn expire_after_create(
        &self,
        _domain: &String,
        outcome: &Outcome,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(match outcome {
            Outcome::Answered(_) => self.answered,
            Outcome::Failed => self.failed,
        })
    }
}

/// A cached MX resolver of mailbox providers.
pub struct MxLookup {
    resolver: TokioResolver,
    cache: moka::future::Cache<String, Outcome>,
    wait: Duration,
}

impl MxLookup {
    /// The resolver `settings` describe, or `None` when lookups are turned off.
    pub fn new(settings: &MxLookupSettings) -> Result<Option<Arc<MxLookup>>, MxLookupError> {
        if !settings.enabled {
            return Ok(None);
        }
        let provider = TokioRuntimeProvider::default();
        let mut builder = if settings.nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(MxLookupError)?
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|address| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = address.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = address.port();
                    NameServerConfig::new(address.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let options = builder.options_mut();
        options.timeout = Duration::from_millis(settings.query_timeout_ms);
        options.attempts = 1;
        // The cache below keeps the outcomes; the resolver's own needs to hold little.
        options.cache_size = 64;
        let resolver = builder.build().map_err(MxLookupError)?;
        let cache = moka::future::Cache::builder()
            .max_capacity(settings.max_domains)
            .expire_after(OutcomeExpiry {
                answered: Duration::from_secs(settings.cache_secs),
                failed: Duration::from_secs(settings.failure_cache_secs),
            })
            .build();
        Ok(Some(Arc::new(MxLookup {
            resolver,
            cache,
            wait: Duration::from_millis(settings.wait_ms),
        })))
    }

    /// The providers of those of `domains` whose MX hosts name one, as far as known within
    /// the wait; lookups still running go on in the background and fill the cache.
    pub async fn providers(
        self: &Arc<Self>,
        domains: HashSet<String>,
    ) -> HashMap<String, MailboxProvider> {
        let mut found = HashMap::new();
        if domains.is_empty() {
            return found;
        }
        let mut running = tokio::task::JoinSet::new();
        for domain in domains {
            match self.cache.get(&domain).await {
                Some(Outcome::Answered(Some(provider))) => {
                    found.insert(domain, provider);
                }
                Some(_) => {}
                None => {
                    let lookup = Arc::clone(self);
                    running.spawn(async move {
                        let outcome = lookup
                            .cache
                            .get_with_by_ref(&domain, lookup.look_up(&domain))
                            .await;
                        (domain, outcome)
                    });
                }
            }
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, running.join_next()).await {
            if let Ok((domain, Outcome::Answered(Some(provider)))) = joined {
                found.insert(domain, provider);
            }
        }
        if !running.is_empty() {
            metrics::counter!("eventhose_mx_lookups_unfinished_total")
                .increment(running.len() as u64);
            // Detached, they finish and fill the cache for the next request.
            running.detach_all();
        }
        found
    }

    /// Asks the DNS for `domain`'s MX hosts; the provider of the most preferred host that
    /// names one.
    async fn look_up(&self, domain: &str) -> Outcome {
        metrics::counter!("eventhose_mx_lookups_total").increment(1);
        let fully_qualified = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fully_qualified).await {
            Ok(lookup) => {
                let mut hosts: Vec<_> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                        _ => None,
                    })
                    .collect();
                hosts.sort();
                Outcome::Answered(
                    hosts
                        .iter()
                        .find_map(|(_, host)| mailbox_provider_for_mx(host)),
                )
            }
            Err(error) if error.is_no_records_found() || error.is_nx_domain() => {
                Outcome::Answered(None)
            }
            Err(error) => {
                metrics::counter!("eventhose_mx_lookup_failures_total").increment(1);
                tracing::debug!(domain, error = %error, "MX lookup failed");
                Outcome::Failed
            }
        }
    }
}
