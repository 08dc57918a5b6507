//! Erasure tombstones: which recipients were erased, and when.
//!
//! An erasure removes what is stored about a recipient, but copies may still be on their way
//! (events in the hose not yet stored, batches waiting for a retry, a late event with an
//! earlier timestamp). A tombstone keeps the SHA-256 of the case-folded address — never the
//! address — with the erasure time, and every writer of personal data drops an event naming
//! an erased recipient whose `timestamp` is not after that time. Mail sent to the address
//! after the erasure is new data and is kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use crate::StateError;

/// The digest a tombstone keeps of an address: SHA-256 of its case-folded form.
pub fn recipient_digest(address: &str) -> [u8; 32] {
    Sha256::digest(address.trim().to_lowercase().as_bytes()).into()
}

/// Storage of tombstones.
pub trait ErasureStore: Send + Sync {
    /// Records that `recipient` was erased at `at` (unix seconds); a later erasure of the
    /// same address moves its time forward.
    fn record_erasure(&self, recipient: &str, at: i64) -> Result<(), StateError>;
    /// Every tombstone: digest and erasure time.
    fn erasures(&self) -> Result<Vec<([u8; 32], i64)>, StateError>;
}

/// The tombstones in memory, shared by the API (which adds them) and the writers (which
/// check every event against them). Cheap to ask while empty, as it is on most servers.
#[derive(Debug, Default)]
pub struct Tombstones {
    by_digest: RwLock<HashMap<[u8; 32], i64>>,
    /// How many tombstones were added: writers that keep their own copy reload when it moves.
    version: AtomicU64,
    /// The version the copies kept at rest by this process's webhook engine (its delayed
    /// queue and failed batches) were last rewritten for.
    scrubbed_at_rest: AtomicU64,
}

impl Tombstones {
    /// The tombstones of `store`.
    pub fn load(store: &dyn ErasureStore) -> Result<Self, StateError> {
        let tombstones = Self::default();
        for (digest, at) in store.erasures()? {
            tombstones.add_digest(digest, at);
        }
        Ok(tombstones)
    }

    /// Adds what `store` holds and this set does not (erasures recorded by other processes
    /// sharing the store); returns how many tombstones were new or moved later.
    pub fn refresh(&self, store: &dyn ErasureStore) -> Result<usize, StateError> {
        let mut changed = 0;
        for (digest, at) in store.erasures()? {
            changed += usize::from(self.add_digest(digest, at));
        }
        Ok(changed)
    }

    /// Adds a tombstone for `recipient` erased at `at`.
    pub fn add(&self, recipient: &str, at: i64) {
        self.add_digest(recipient_digest(recipient), at);
    }

    /// Adds or moves a tombstone; returns whether the set changed (only then does
    /// [`version`](Self::version) move).
    fn add_digest(&self, digest: [u8; 32], at: i64) -> bool {
        let Ok(mut map) = self.by_digest.write() else {
            return false;
        };
        let erased_at = map.entry(digest).or_insert(i64::MIN);
        if *erased_at >= at {
            return false;
        }
        *erased_at = at;
        self.version.fetch_add(1, Ordering::Release);
        true
    }

    /// How many recipients have a tombstone.
    pub fn len(&self) -> usize {
        self.by_digest.read().map_or(0, |map| map.len())
    }

    /// Whether there is no tombstone at all.
    pub fn is_empty(&self) -> bool {
        self.version.load(Ordering::Acquire) == 0
    }

    /// How many tombstones were added so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Records that the copies the webhook engine keeps at rest no longer hold the events of
    /// the recipients erased up to `version`.
    pub fn mark_scrubbed_at_rest(&self, version: u64) {
        self.scrubbed_at_rest.fetch_max(version, Ordering::AcqRel);
    }

    /// Whether the webhook engine's copies at rest were rewritten for every erasure up to
    /// `version`.
    pub fn scrubbed_at_rest(&self, version: u64) -> bool {
        self.scrubbed_at_rest.load(Ordering::Acquire) >= version
    }

    /// Whether an event at `timestamp` naming `recipient` belongs to an erased recipient.
    pub fn erased(&self, recipient: &str, timestamp: i64) -> bool {
        if self.is_empty() {
            return false;
        }
        let digest = recipient_digest(recipient);
        self.by_digest
            .read()
            .ok()
            .and_then(|map| map.get(&digest).copied())
            .is_some_and(|erased_at| timestamp <= erased_at)
    }

    /// Whether any of `recipients` at `timestamp` was erased.
    pub fn any_erased<'a>(
        &self,
        recipients: impl IntoIterator<Item = &'a str>,
        timestamp: i64,
    ) -> bool {
        !self.is_empty()
            && recipients
                .into_iter()
                .any(|recipient| self.erased(recipient, timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erased_recipient_matches_until_its_erasure_time_whatever_its_case() {
        let tombstones = Tombstones::default();
        assert!(!tombstones.erased("a@example.com", 0));
        tombstones.add("Ann@Example.com", 1_000);
        assert!(tombstones.erased("ann@example.com", 999));
        assert!(tombstones.erased("ANN@EXAMPLE.COM", 1_000));
        assert!(
            !tombstones.erased("ann@example.com", 1_001),
            "later mail is new data"
        );
        assert!(!tombstones.erased("bob@example.com", 10));
        assert!(tombstones.any_erased(["bob@example.com", "ann@example.com"], 5));
        tombstones.add("ann@example.com", 2_000);
        assert!(tombstones.erased("ann@example.com", 1_500));
        assert_eq!(tombstones.version(), 2);
    }
}
