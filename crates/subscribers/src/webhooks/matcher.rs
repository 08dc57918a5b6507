//! Which webhooks want an event: its type, and the account it belongs to. A webhook's scope is
//! All (minus its exception subaccounts), Primary (subaccount 0) or one subaccount.

use eventhose_state::{Webhook, WebhookScope};

/// Whether `webhook` receives an event of `event_type` from `subaccount` (None or 0 = primary).
pub fn wants(webhook: &Webhook, event_type: &str, subaccount: Option<u64>) -> bool {
    if !webhook.active || !webhook.events.iter().any(|e| e == event_type) {
        return false;
    }
    let subaccount = subaccount.unwrap_or(0);
    match webhook.scope {
        WebhookScope::All => !webhook.exception_subaccounts.contains(&subaccount),
        WebhookScope::Primary => subaccount == 0,
        WebhookScope::Subaccount(n) => subaccount == n,
    }
}
