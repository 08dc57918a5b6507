//! The health of a process's long-running components (its subscribers), as `/readyz` and
//! Prometheus report it: each is up, or down with the reason it failed.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The components of one process that are down, with why; every other one is up.
#[derive(Debug, Default)]
pub struct Components {
    down: Mutex<BTreeMap<String, String>>,
}

impl Components {
    /// Records that `component` is running (`eventhose_component_up{component}` 1).
    pub fn up(&self, component: &str) {
        if let Ok(mut down) = self.down.lock() {
            down.remove(component);
        }
        metrics::gauge!("eventhose_component_up", "component" => component.to_owned()).set(1.0);
    }

    /// Records that `component` stopped because of `reason` (`eventhose_component_up` 0).
    pub fn down(&self, component: &str, reason: impl Into<String>) {
        if let Ok(mut down) = self.down.lock() {
            down.insert(component.to_owned(), reason.into());
        }
        metrics::gauge!("eventhose_component_up", "component" => component.to_owned()).set(0.0);
    }

    /// The components that are down and why, by name.
    pub fn failing(&self) -> Vec<(String, String)> {
        self.down
            .lock()
            .map(|down| down.iter().map(|(c, r)| (c.clone(), r.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_failing_from_its_failure_until_it_runs_again() {
        let components = Components::default();
        components.up("metrics");
        assert!(components.failing().is_empty());
        components.down("metrics", "disk full");
        components.down("webhooks", "store gone");
        assert_eq!(
            components.failing(),
            [
                ("metrics".to_owned(), "disk full".to_owned()),
                ("webhooks".to_owned(), "store gone".to_owned())
            ]
        );
        components.up("metrics");
        assert_eq!(components.failing().len(), 1);
    }
}
