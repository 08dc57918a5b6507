//! API keys.

use super::{conformance_tests, Fixture};
use crate::keys::{hash_key, NewKey};

conformance_tests!(
    finds_by_hash_and_revokes,
    rejects_unknown_and_subaccount_forbidden_grants,
    subaccount_zero_or_past_the_id_range_cannot_become_an_all_accounts_key,
    chosen_secret_must_be_long_enough,
);

fn new_key(grants: &[&str]) -> NewKey {
    NewKey {
        label: "test".into(),
        grants: grants.iter().map(|g| g.to_string()).collect(),
        ..NewKey::default()
    }
}

fn finds_by_hash_and_revokes(fixture: Fixture) {
    let state = &fixture.store;
    let (key, secret) = state
        .create_key(new_key(&["metrics/view", "events/ingest"]))
        .unwrap();
    let found = state.find_key_by_hash(&hash_key(&secret)).unwrap().unwrap();
    assert_eq!(found, key);
    assert!(found.allows("metrics/view"));
    assert!(!found.allows("webhooks/modify"));
    assert!(state.revoke_key(&key.id).unwrap());
    assert!(!state.revoke_key(&key.id).unwrap());
    let revoked = state.find_key_by_hash(&hash_key(&secret)).unwrap().unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(!revoked.allows("metrics/view"));
    assert!(state.find_key_by_hash(&hash_key("nope")).unwrap().is_none());
}

fn rejects_unknown_and_subaccount_forbidden_grants(fixture: Fixture) {
    let state = &fixture.store;
    let err = state.create_key(new_key(&["events/eat"])).unwrap_err();
    assert!(err.to_string().contains("events/eat"), "{err}");
    let mut sub = new_key(&["api_keys/manage"]);
    sub.subaccount = Some(3);
    let err = state.create_key(sub).unwrap_err();
    assert!(err.to_string().contains("api_keys/manage"), "{err}");
    assert_eq!(state.count_keys().unwrap(), 0);
}

fn subaccount_zero_or_past_the_id_range_cannot_become_an_all_accounts_key(fixture: Fixture) {
    let state = &fixture.store;
    for subaccount in [0, eventhose_model::MAX_SUBACCOUNT_ID + 1, u64::MAX] {
        let mut key = new_key(&["webhooks/modify"]);
        key.subaccount = Some(subaccount);
        let err = state.create_key(key).unwrap_err();
        assert!(err.to_string().contains("subaccount"), "{err}");
    }
    assert_eq!(state.count_keys().unwrap(), 0);
    let mut last = new_key(&["webhooks/modify"]);
    last.subaccount = Some(eventhose_model::MAX_SUBACCOUNT_ID);
    let (key, _) = state.create_key(last).unwrap();
    assert_eq!(key.subaccount, Some(eventhose_model::MAX_SUBACCOUNT_ID));
}

fn chosen_secret_must_be_long_enough(fixture: Fixture) {
    let state = &fixture.store;
    let mut short = new_key(&["events/ingest"]);
    short.secret = Some("short".into());
    assert!(state.create_key(short).is_err());
    let mut good = new_key(&["events/ingest"]);
    good.secret = Some("bootstrap-key-0123456789".into());
    let (_, secret) = state.create_key(good).unwrap();
    assert_eq!(secret, "bootstrap-key-0123456789");
    assert_eq!(state.list_keys().unwrap().len(), 1);
}
