//! `eventhose dead-letters`: lists, shows, retries and drops what the subscribers set aside,
//! through the running server's Dead Letters API (the server holds the hose, so the command
//! asks it rather than opening the hose itself).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::ConfigArgs;

/// `eventhose dead-letters …`
#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    /// The server's base URL. Default: `listen` of the configuration, on loopback when it
    /// listens on every address.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// API key with the `dead_letters/manage` grant (a primary-account key).
    #[arg(long, env = "EVENTHOSE_KEY", global = true, hide_env_values = true)]
    pub key: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: DeadLettersCommand,
}

/// What to do with dead letters.
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// Each subscriber's count or, given a subscriber, its oldest dead letters.
    List {
        /// Whose dead letters to list.
        subscriber: Option<String>,
        /// How many, at most.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// One dead letter with its messages.
    Show {
        /// Whose dead letter.
        subscriber: String,
        /// Its id, as `list` shows it.
        id: String,
    },
    /// Delivers a dead letter to its subscriber again.
    Retry {
        /// Whose dead letter.
        subscriber: String,
        /// Its id.
        id: String,
    },
    /// Deletes a dead letter for good.
    Drop {
        /// Whose dead letter.
        subscriber: String,
        /// Its id.
        id: String,
    },
}

/// Runs the command, printing the API's answer as JSON.
pub async fn run(args: DeadLettersArgs) -> anyhow::Result<()> {
    let base = match args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let listen = args.config.load(None)?.listen;
            let host = match listen.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                ip => ip,
            };
            format!("http://{}", std::net::SocketAddr::new(host, listen.port()))
        }
    };
    let key = args.key.context(
        "an API key with the dead_letters/manage grant is needed: --key or EVENTHOSE_KEY",
    )?;
    let api = format!("{base}/api/v1/dead-letters");
    let client = reqwest::Client::new();
    let request = match &args.command {
        DeadLettersCommand::List {
            subscriber: None, ..
        } => client.get(api),
        DeadLettersCommand::List {
            subscriber: Some(subscriber),
            limit,
        } => {
            let request = client.get(format!("{api}/{}", segment(subscriber)));
            match limit {
                Some(limit) => request.query(&[("limit", limit)]),
                None => request,
            }
        }
        DeadLettersCommand::Show { subscriber, id } => {
            client.get(format!("{api}/{}/{}", segment(subscriber), segment(id)))
        }
        DeadLettersCommand::Retry { subscriber, id } => client.post(format!(
            "{api}/{}/{}/retry",
            segment(subscriber),
            segment(id)
        )),
        DeadLettersCommand::Drop { subscriber, id } => {
            client.delete(format!("{api}/{}/{}", segment(subscriber), segment(id)))
        }
    };
    let response = request
        .header(reqwest::header::AUTHORIZATION, key)
        .send()
        .await
        .with_context(|| format!("cannot reach eventhose at {base}"))?;
    let status = response.status();
    let body = response.bytes().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    if body.is_empty() {
        println!("{{\"results\":{{\"message\":\"Dead letter dropped.\"}}}}");
    } else {
        let answer: Value = serde_json::from_slice(&body).context("the answer is not JSON")?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(())
}

/// `text` as one URL path segment (subscriber names and ids need no escaping, but a typo must
/// not reach another route).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
