//! The roles a `serve` process runs (`--roles`): all of them by default, one process as
//! before; or a subset, each tier in its own processes on shared engines (RabbitMQ for the
//! hose, PostgreSQL for the state) so that each scales on its own.

use serde::{Deserialize, Serialize};

use crate::config::{Config, HoseChoice};

/// One part of eventhose's work.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The APIs under `/api/v1` other than ingest, and the Reports UI.
    Api,
    /// `POST /api/v1/ingest/events` and `/ingest/kumomta`: events into the hose (and the hose
    /// counter).
    Ingest,
    /// The webhook delivery engine.
    Webhooks,
    /// The metrics subscriber.
    Metrics,
    /// The message-events subscriber.
    Events,
    /// The suppressions subscriber.
    Suppressions,
}

impl Role {
    /// Every role, in the order they are listed.
    pub const ALL: [Role; 6] = [
        Role::Api,
        Role::Ingest,
        Role::Webhooks,
        Role::Metrics,
        Role::Events,
        Role::Suppressions,
    ];

    /// The role's name, as `--roles` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Ingest => "ingest",
            Role::Webhooks => "webhooks",
            Role::Metrics => "metrics",
            Role::Events => "events",
            Role::Suppressions => "suppressions",
        }
    }
}

/// The roles of one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    /// The roles listed (repeats ignored, in [`Role::ALL`]'s order).
    pub fn new(listed: &[Role]) -> Self {
        Self(
            Role::ALL
                .into_iter()
                .filter(|role| listed.contains(role))
                .collect(),
        )
    }

    /// Whether this process runs `role`.
    pub fn runs(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether this process runs every role (the single-process shape).
    pub fn is_all(&self) -> bool {
        self.0.len() == Role::ALL.len()
    }

    /// The roles, in order.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// The roles' names, comma-separated.
    pub fn names(&self) -> String {
        self.iter().map(Role::name).collect::<Vec<_>>().join(",")
    }

    /// Refuses a set of roles that would diverge silently: processes that split the roles must
    /// share the hose and the state, and a role writing a DuckDB file must run beside the API
    /// that reads it.
    pub fn check(&self, config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(!self.0.is_empty(), "`roles` names no role");
        if self.is_all() {
            return Ok(());
        }
        let names = self.names();
        anyhow::ensure!(
            matches!(config.hose, HoseChoice::Amqp(_)),
            "roles {names}: the other roles run in other processes, which cannot share this \
             data directory's embedded hose; set hose = \"amqp://…\" (RabbitMQ) for every process"
        );
        anyhow::ensure!(
            config.state.is_some(),
            "roles {names}: the other roles run in other processes, which cannot share this \
             data directory's SQLite state; set state = \"postgres://…\" for every process"
        );
        // Metrics on ClickHouse are shared; a DuckDB file is read by its own process only.
        let in_duckdb =
            self.runs(Role::Events) || (self.runs(Role::Metrics) && config.analytics.url.is_none());
        anyhow::ensure!(
            !in_duckdb || self.runs(Role::Api),
            "roles {names}: the events role (and the metrics role, without analytics.url) \
             writes a DuckDB file only its own process can read; run it with the api role, \
             in one process, or keep metrics on ClickHouse (analytics.url)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hose: &str, state: Option<&str>) -> Config {
        let mut config = Config::default();
        if !hose.is_empty() {
            config.hose = HoseChoice::Amqp(hose.into());
        }
        config.state = state.map(|url| url.to_owned().try_into().unwrap());
        config
    }

    #[test]
    fn every_role_runs_anywhere() {
        let all = Roles::new(&Role::ALL);
        assert!(all.is_all());
        all.check(&config("", None)).unwrap();
    }

    #[test]
    fn a_subset_needs_a_shared_hose_and_shared_state() {
        let workers = Roles::new(&[Role::Suppressions, Role::Webhooks, Role::Webhooks]);
        assert_eq!(workers.names(), "webhooks,suppressions");
        for (hose, state, needed) in [
            ("", Some("postgres://db/eh"), "amqp://"),
            ("amqp://mq", None, "postgres://"),
        ] {
            let err = workers.check(&config(hose, state)).unwrap_err().to_string();
            assert!(err.contains(needed), "{err}");
        }
        workers
            .check(&config("amqp://mq", Some("postgres://db/eh")))
            .unwrap();
    }

    #[test]
    fn analytic_roles_run_beside_the_api() {
        let shared = config("amqp://mq", Some("postgres://db/eh"));
        let err = Roles::new(&[Role::Metrics, Role::Events])
            .check(&shared)
            .unwrap_err();
        assert!(err.to_string().contains("api role"), "{err}");
        Roles::new(&[Role::Api, Role::Metrics, Role::Events])
            .check(&shared)
            .unwrap();
        Roles::new(&[Role::Api, Role::Ingest])
            .check(&shared)
            .unwrap();
        assert!(Roles::new(&[]).check(&shared).is_err());

        // Metrics on ClickHouse run anywhere; message events still beside the API.
        let mut clickhouse = shared.clone();
        clickhouse.analytics.url = Some(
            "http://127.0.0.1:8123/?database=eventhose"
                .to_owned()
                .try_into()
                .unwrap(),
        );
        Roles::new(&[Role::Metrics]).check(&clickhouse).unwrap();
        let err = Roles::new(&[Role::Metrics, Role::Events])
            .check(&clickhouse)
            .unwrap_err();
        assert!(err.to_string().contains("events role"), "{err}");
    }
}
