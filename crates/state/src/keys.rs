//! API keys: SparkPost-style grants, optional subaccount scope, stored hashed.
//!
//! A key is 40 random hex characters, shown once when created. Only its SHA-256 digest and
//! its first four characters are stored. A plain digest (no salt, no slow KDF) is the right
//! tool here: keys are 160-bit random secrets, not human passwords, so they cannot be guessed
//! from the digest, and a fast digest lets every request be authenticated cheaply.

use eventhose_model::MAX_SUBACCOUNT_ID;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::StateError;

/// A permission string in SparkPost's `resource/action` form.
pub type Grant = String;

/// Every grant eventhose knows. Keys may only carry these.
pub const ALL_GRANTS: &[&str] = &[
    "events/ingest",
    "metrics/view",
    "message_events/view",
    "webhooks/view",
    "webhooks/modify",
    "suppression_lists/manage",
    "data_privacy/manage",
    "api_keys/manage",
    "dead_letters/manage",
];

/// The grants a subaccount key may hold: SparkPost's list (as far as eventhose implements it),
/// plus `metrics/view`, because eventhose scopes metrics to the key's subaccount.
pub const SUBACCOUNT_GRANTS: &[&str] = &[
    "events/ingest",
    "metrics/view",
    "message_events/view",
    "webhooks/view",
    "webhooks/modify",
    "suppression_lists/manage",
    "data_privacy/manage",
];

/// A grant that eventhose does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown grant `{0}` (known: {known})", known = ALL_GRANTS.join(", "))]
pub struct UnknownGrant(pub String);

/// A stored API key, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Stable identifier, used to revoke.
    pub id: String,
    /// Human label.
    pub label: String,
    /// The first four characters of the key, to recognise it.
    pub prefix: String,
    /// The grants it carries.
    pub grants: Vec<Grant>,
    /// When set, the key sees and changes only this subaccount's data.
    pub subaccount: Option<u64>,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Revocation time, unix seconds; a revoked key authenticates nothing.
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    /// Whether the key carries `grant` and is not revoked.
    pub fn allows(&self, grant: &str) -> bool {
        self.revoked_at.is_none() && self.grants.iter().any(|g| g == grant)
    }
}

/// What `create` needs; the secret is generated unless given (bootstrap).
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    /// Human label.
    pub label: String,
    /// Grants; each must be in [`ALL_GRANTS`] (and in [`SUBACCOUNT_GRANTS`] for a subaccount key).
    pub grants: Vec<Grant>,
    /// Optional subaccount scope.
    pub subaccount: Option<u64>,
    /// A caller-chosen secret (at least 20 characters), for `EVENTHOSE_BOOTSTRAP_KEY`.
    pub secret: Option<String>,
}

/// The SHA-256 digest of a key, as stored.
pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Generates a new secret: 20 random bytes as 40 hex characters, SparkPost's key shape.
fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Checks grants against the known lists.
fn validate(new: &NewKey) -> Result<(), StateError> {
    if new.grants.is_empty() {
        return Err(StateError::Invalid("a key needs at least one grant".into()));
    }
    match new.subaccount {
        Some(0) => {
            return Err(StateError::Invalid(
                "subaccount 0 is the primary account: create a primary key (no subaccount)".into(),
            ))
        }
        Some(id) if id > MAX_SUBACCOUNT_ID => {
            return Err(StateError::Invalid(format!(
                "subaccount {id} is not a subaccount id (1 to {MAX_SUBACCOUNT_ID})"
            )))
        }
        _ => {}
    }
    for grant in &new.grants {
        if !ALL_GRANTS.contains(&grant.as_str()) {
            return Err(StateError::Invalid(UnknownGrant(grant.clone()).to_string()));
        }
        if new.subaccount.is_some() && !SUBACCOUNT_GRANTS.contains(&grant.as_str()) {
            return Err(StateError::Invalid(format!(
                "grant `{grant}` cannot be given to a subaccount key"
            )));
        }
    }
    if let Some(secret) = &new.secret {
        let printable = secret.chars().all(|c| c.is_ascii_graphic());
        if secret.len() < 20 || secret.len() > 256 || !printable {
            return Err(StateError::Invalid(
                "a chosen key must be 20 to 256 printable ASCII characters".into(),
            ));
        }
    }
    Ok(())
}

/// A key about to be stored, validated: the record, its secret and the secret's digest.
pub(crate) struct KeyRecord {
    pub(crate) key: ApiKey,
    pub(crate) secret: String,
    pub(crate) hash: String,
}

/// Validates `new` and makes its record: a fresh id, the chosen or a new secret, grants
/// sorted without repeats.
pub(crate) fn new_record(new: NewKey) -> Result<KeyRecord, StateError> {
    validate(&new)?;
    let secret = new.secret.clone().unwrap_or_else(generate_secret);
    let mut grants = new.grants;
    grants.sort();
    grants.dedup();
    let key = ApiKey {
        id: generate_secret()[..12].to_string(),
        label: new.label,
        prefix: secret.chars().take(4).collect(),
        grants,
        subaccount: new.subaccount,
        created_at: crate::unix_now(),
        revoked_at: None,
    };
    let hash = hash_key(&secret);
    Ok(KeyRecord { key, secret, hash })
}

/// The grants as stored: one comma-separated column.
pub(crate) fn grants_column(grants: &[Grant]) -> String {
    grants.join(",")
}

/// The grants of a stored grants column.
pub(crate) fn parse_grants(column: &str) -> Vec<Grant> {
    column
        .split(',')
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect()
}

/// Storage of API keys.
pub trait KeyStore: Send + Sync {
    /// Stores a new key and returns it with its secret, which is never retrievable again.
    fn create_key(&self, new: NewKey) -> Result<(ApiKey, String), StateError>;
    /// Finds the key whose secret hashes to `hash`, revoked or not.
    fn find_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StateError>;
    /// All keys, oldest first.
    fn list_keys(&self) -> Result<Vec<ApiKey>, StateError>;
    /// Revokes a key by id; returns whether a live key was revoked.
    fn revoke_key(&self, id: &str) -> Result<bool, StateError>;
    /// How many keys exist, revoked included.
    fn count_keys(&self) -> Result<u64, StateError>;
}
