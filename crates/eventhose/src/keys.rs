//! `eventhose keys …`: API keys in the configured state store.

use eventhose_state::{hash_key, KeyStore, NewKey};

use crate::cli::KeysCommand;
use crate::config::Config;

/// Runs one keys subcommand.
pub fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = crate::state_backend::open(&config, None)?;
    match command {
        KeysCommand::Create {
            grants,
            subaccount,
            label,
        } => {
            let (key, secret) = store.create_key(NewKey {
                label,
                grants,
                subaccount,
                secret: None,
            })?;
            eprintln!(
                "created key {} with grants {} (shown once; store it now)",
                key.id,
                key.grants.join(",")
            );
            println!("{secret}");
        }
        KeysCommand::List { json } => {
            let keys = store.list_keys()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!(
                    "{:<12}  {:<6}  {:<8}  {:<10}  {:<20}  GRANTS",
                    "ID", "PREFIX", "STATE", "SUBACCOUNT", "LABEL"
                );
                for key in keys {
                    println!(
                        "{:<12}  {:<6}  {:<8}  {:<10}  {:<20}  {}",
                        key.id,
                        key.prefix,
                        if key.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        },
                        key.subaccount
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        key.label,
                        key.grants.join(",")
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            anyhow::ensure!(store.revoke_key(&id)?, "no active key with id `{id}`");
            eprintln!("revoked key {id}");
        }
    }
    Ok(())
}

/// Creates the bootstrap key, with every grant, when the store has no key at all; returns
/// whether it did. Creating it is logged as a warning: the key is a root credential that now
/// sits in the configuration or the environment. Processes starting together on one shared
/// store may race to create it: the one that finds it created by another did not create it.
pub fn bootstrap(store: &dyn KeyStore, secret: &str) -> anyhow::Result<bool> {
    if store.count_keys()? > 0 {
        return Ok(false);
    }
    let created = store.create_key(NewKey {
        label: "bootstrap".into(),
        grants: eventhose_state::ALL_GRANTS
            .iter()
            .map(|g| g.to_string())
            .collect(),
        subaccount: None,
        secret: Some(secret.to_string()),
    });
    if let Err(error) = created {
        if store.find_key_by_hash(&hash_key(secret))?.is_some() {
            return Ok(false);
        }
        return Err(error.into());
    }
    tracing::warn!(
        "created the bootstrap API key (every grant) from bootstrap_key; remove it from the \
         configuration and the environment, and revoke the key once other keys exist"
    );
    Ok(true)
}
