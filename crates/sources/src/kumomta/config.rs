//! What the KumoMTA source is told: which subaccount each KumoMTA tenant is.

use std::collections::BTreeMap;

/// What becomes of a record whose tenant is not in [`KumoConfig::tenants`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownTenant {
    /// Its events name no subaccount: they belong to the primary account, or, sent with a
    /// subaccount's key, to that subaccount (the ingest scope stamps it).
    #[default]
    Primary,
    /// The record is refused (a [`RecordError`](super::RecordError) naming the field the
    /// tenant was read from), so a tenant missing from the map is noticed.
    Refuse,
}

/// The configuration of the KumoMTA mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KumoConfig {
    /// KumoMTA tenant name → SparkPost subaccount id.
    pub tenants: BTreeMap<String, u64>,
    /// What an unmapped tenant becomes. A record with no tenant at all always goes to the
    /// primary account (or the key's subaccount).
    pub unknown_tenant: UnknownTenant,
}
