//! The subscribers this hose knows and the subscriptions open on each.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::sync_util::lock;

/// Subscriptions of one name in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slots {
    /// Open subscriptions.
    open: usize,
    /// Dropped subscriptions whose channel is still being closed.
    closing: usize,
}

/// Registered subscriber names (their queues are declared after every reconnect) and the local
/// subscriptions of each.
#[derive(Debug)]
pub(crate) struct Registry {
    names: Mutex<BTreeSet<String>>,
    slots: watch::Sender<HashMap<String, Slots>>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            names: Mutex::new(BTreeSet::new()),
            slots: watch::channel(HashMap::new()).0,
        }
    }

    /// Remembers `name`; true when it was new.
    pub(crate) fn insert(&self, name: &str) -> bool {
        lock(&self.names).insert(name.to_owned())
    }

    pub(crate) fn remove(&self, name: &str) {
        lock(&self.names).remove(name);
    }

    /// Registered names, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        lock(&self.names).iter().cloned().collect()
    }

    pub(crate) fn subscription_opened(&self, name: &str) {
        self.update(name, |slots| slots.open += 1);
    }

    /// A subscription was dropped and its channel is being closed in the background.
    pub(crate) fn subscription_closing(&self, name: &str) {
        self.update(name, |slots| {
            slots.open = slots.open.saturating_sub(1);
            slots.closing += 1;
        });
    }

    /// The channel of a dropped subscription is closed.
    pub(crate) fn subscription_closed(&self, name: &str) {
        self.update(name, |slots| {
            slots.closing = slots.closing.saturating_sub(1)
        });
    }

    /// A subscription was dropped with nothing left to close.
    pub(crate) fn subscription_released(&self, name: &str) {
        self.update(name, |slots| slots.open = slots.open.saturating_sub(1));
    }

    pub(crate) fn open_subscriptions(&self, name: &str) -> usize {
        self.slots.borrow().get(name).map_or(0, |slots| slots.open)
    }

    /// Waits (at most `within`) until no dropped subscription of `name` is still closing.
    pub(crate) async fn wait_closed(&self, name: &str, within: Duration) -> bool {
        let mut slots = self.slots.subscribe();
        let settled = slots.wait_for(|map| map.get(name).is_none_or(|s| s.closing == 0));
        let outcome = tokio::time::timeout(within, settled).await;
        matches!(outcome, Ok(Ok(_)))
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Slots)) {
        self.slots.send_modify(|map| {
            let slots = map.entry(name.to_owned()).or_default();
            change(slots);
            if *slots == Slots::default() {
                map.remove(name);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_subscriptions_are_waited_for() {
        let registry = Registry::new();
        registry.subscription_opened("a");
        registry.subscription_opened("a");
        assert_eq!(registry.open_subscriptions("a"), 2);
        registry.subscription_closing("a");
        registry.subscription_released("a");
        assert_eq!(registry.open_subscriptions("a"), 0);
        assert!(!registry.wait_closed("a", Duration::from_millis(20)).await);
        registry.subscription_closed("a");
        assert!(registry.wait_closed("a", Duration::from_millis(20)).await);
        assert!(registry.wait_closed("never-seen", Duration::ZERO).await);
    }

    #[test]
    fn names_are_kept_sorted_and_once() {
        let registry = Registry::new();
        assert!(registry.insert("b"));
        assert!(registry.insert("a"));
        assert!(!registry.insert("b"));
        assert_eq!(registry.names(), ["a", "b"]);
        registry.remove("a");
        assert_eq!(registry.names(), ["b"]);
    }
}
