//! MTA sources `serve` runs itself, configured in `eventhose.toml` (`[[sources.postfix]]`,
//! `[[sources.pmta]]`): the agent of `eventhose source …`, run in the server's process and
//! sending to the server's own ingest API over loopback, so that its events take the path of
//! any other (key, limits, deduplication, backpressure, 200 only once durable).
//!
//! Each source keeps its place in `<data_dir>/sources/<name>.position`. The key it sends with
//! holds only the `events/ingest` grant; its secret is kept in `<data_dir>/sources.key`
//! (created once, mode 0600) and the key is listed by `eventhose keys list` as
//! `sources in serve`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use eventhose_source_agent::{AgentConfig, Input};
use eventhose_sources::pmta::PmtaConfig;
use eventhose_state::{hash_key, KeyStore, NewKey};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::source::{parse_zone, system_zone};

/// The sources `serve` runs (`[sources]`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesSettings {
    /// Postfix logs: a file, or syslog over UDP and/or TCP.
    pub postfix: Vec<PostfixSourceSettings>,
    /// PowerMTA accounting files.
    pub pmta: Vec<PmtaSourceSettings>,
}

/// One `[[sources.postfix]]` table.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PostfixSourceSettings {
    /// Names the position file (default `postfix-<n>`, n counting from 1).
    pub name: Option<String>,
    /// The log file to follow through rotation and truncation.
    pub file: Option<PathBuf>,
    /// Listen for syslog over UDP on this address.
    pub syslog_udp: Option<SocketAddr>,
    /// Listen for syslog over TCP on this address.
    pub syslog_tcp: Option<SocketAddr>,
    /// The zone of lines without one (an IANA name or an offset); default: this machine's.
    pub zone: Option<String>,
}

/// One `[[sources.pmta]]` table.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PmtaSourceSettings {
    /// Names the position file (default `pmta-<n>`).
    pub name: Option<String>,
    /// The accounting file to follow through PowerMTA's moves.
    pub file: Option<PathBuf>,
    /// The columns, comma-separated, for records before the file's first header line.
    pub header: Option<String>,
}

impl SourcesSettings {
    /// Whether no source is configured.
    pub fn is_empty(&self) -> bool {
        self.postfix.is_empty() && self.pmta.is_empty()
    }

    /// Checks each table: one input, a zone that reads, names unique.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for (index, postfix) in self.postfix.iter().enumerate() {
            let name = name_of(postfix.name.as_deref(), "postfix", index);
            let syslog = postfix.syslog_udp.is_some() || postfix.syslog_tcp.is_some();
            anyhow::ensure!(
                postfix.file.is_some() != syslog,
                "sources.postfix {name:?}: give either `file` or `syslog_udp`/`syslog_tcp`"
            );
            if let Some(zone) = &postfix.zone {
                parse_zone(zone)
                    .map_err(|error| anyhow::anyhow!("sources.postfix {name:?}: {error}"))?;
            }
            anyhow::ensure!(names.insert(name.clone()), "two sources named {name:?}");
        }
        for (index, pmta) in self.pmta.iter().enumerate() {
            let name = name_of(pmta.name.as_deref(), "pmta", index);
            anyhow::ensure!(
                pmta.file.is_some(),
                "sources.pmta {name:?}: `file` is missing"
            );
            anyhow::ensure!(names.insert(name.clone()), "two sources named {name:?}");
        }
        Ok(())
    }
}

/// The name of the `index`th source of `kind`.
fn name_of(given: Option<&str>, kind: &str, index: usize) -> String {
    given.map_or_else(|| format!("{kind}-{}", index + 1), str::to_owned)
}

/// Starts every configured source, sending to the server listening on `address`; each stops
/// (sending what it read, within its grace) once `stop` turns true.
pub fn start(
    settings: &SourcesSettings,
    data_dir: &Path,
    address: SocketAddr,
    keys: &dyn KeyStore,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    if settings.is_empty() {
        return Ok(Vec::new());
    }
    let key = ingest_key(data_dir, keys)?;
    let target = format!("http://{}", loopback_of(address));
    let positions = data_dir.join("sources");
    std::fs::create_dir_all(&positions)
        .with_context(|| format!("cannot create {}", positions.display()))?;
    let mut configs = Vec::new();
    for (index, postfix) in settings.postfix.iter().enumerate() {
        let name = name_of(postfix.name.as_deref(), "postfix", index);
        let input = match &postfix.file {
            Some(path) => Input::File {
                path: path.clone(),
                once: false,
            },
            None => Input::Syslog {
                udp: postfix.syslog_udp,
                tcp: postfix.syslog_tcp,
            },
        };
        let mut config = AgentConfig::new(input, target.clone(), key.clone());
        config.zone = match &postfix.zone {
            Some(zone) => parse_zone(zone).map_err(anyhow::Error::msg)?,
            None => system_zone(),
        };
        config.position_file = Some(positions.join(format!("{name}.position")));
        configs.push((name, config));
    }
    for (index, pmta) in settings.pmta.iter().enumerate() {
        let name = name_of(pmta.name.as_deref(), "pmta", index);
        let path = pmta
            .file
            .clone()
            .context("sources.pmta: `file` is missing")?;
        let pmta_config = PmtaConfig {
            default_header: pmta.header.clone(),
            ..PmtaConfig::default()
        };
        let input = Input::File { path, once: false };
        let mut config = AgentConfig::pmta(input, target.clone(), key.clone(), pmta_config);
        config.position_file = Some(positions.join(format!("{name}.position")));
        configs.push((name, config));
    }
    Ok(configs
        .into_iter()
        .map(|(name, config)| {
            let mut stop = stop.clone();
            tokio::spawn(async move {
                let stopping = async move {
                    let _ = stop.wait_for(|&stopped| stopped).await;
                };
                tracing::info!(source = %name, "source started");
                match eventhose_source_agent::run(config, stopping).await {
                    Ok(report) => tracing::info!(
                        source = %name,
                        accepted = report.ship.accepted,
                        "source stopped"
                    ),
                    Err(error) => tracing::error!(
                        source = %name,
                        error = format!("{error:#}"),
                        "source failed"
                    ),
                }
            })
        })
        .collect())
}

/// Where this process's own HTTP server is reached: the loopback address of the same family
/// when it listens on every address.
fn loopback_of(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), address.port())
        }
        _ => address,
    }
}

/// The secret of the sources' key: read from `<data_dir>/sources.key`, or created there, and
/// made a key with the ingest grant if the state store does not hold it.
fn ingest_key(data_dir: &Path, keys: &dyn KeyStore) -> anyhow::Result<String> {
    let path = data_dir.join("sources.key");
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    if let Some(secret) = &secret {
        if keys.find_key_by_hash(&hash_key(secret))?.is_some() {
            return Ok(secret.clone());
        }
    }
    let (_, created) = keys.create_key(NewKey {
        label: "sources in serve".into(),
        grants: vec![eventhose_api::ingest::INGEST_GRANT.to_string()],
        subaccount: None,
        secret: secret.clone(),
    })?;
    if secret.is_none() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(format!("{created}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_postfix_source_needs_exactly_one_input() {
        let both = SourcesSettings {
            postfix: vec![PostfixSourceSettings {
                file: Some("/var/log/mail.log".into()),
                syslog_udp: Some("127.0.0.1:514".parse().unwrap()),
                ..PostfixSourceSettings::default()
            }],
            ..SourcesSettings::default()
        };
        assert!(both.validate().is_err());
        let none = SourcesSettings {
            postfix: vec![PostfixSourceSettings::default()],
            ..SourcesSettings::default()
        };
        assert!(none.validate().is_err());
        let named_twice = SourcesSettings {
            postfix: vec![
                PostfixSourceSettings {
                    name: Some("mx".into()),
                    file: Some("a".into()),
                    ..PostfixSourceSettings::default()
                },
                PostfixSourceSettings {
                    name: Some("mx".into()),
                    file: Some("b".into()),
                    ..PostfixSourceSettings::default()
                },
            ],
            ..SourcesSettings::default()
        };
        assert!(named_twice.validate().is_err());
        let bad_zone = SourcesSettings {
            postfix: vec![PostfixSourceSettings {
                file: Some("a".into()),
                zone: Some("Mars/Olympus".into()),
                ..PostfixSourceSettings::default()
            }],
            ..SourcesSettings::default()
        };
        assert!(bad_zone.validate().is_err());
    }

    #[test]
    fn a_server_on_every_address_is_reached_on_loopback() {
        assert_eq!(
            loopback_of("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            loopback_of("[::]:8080".parse().unwrap()),
            "[::1]:8080".parse().unwrap()
        );
        assert_eq!(
            loopback_of("10.0.0.5:8080".parse().unwrap()),
            "10.0.0.5:8080".parse().unwrap()
        );
    }
}
