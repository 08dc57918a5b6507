//! Webhooks, their batch statuses and kept failed batches.

use std::time::Duration;

use super::{conformance_tests, Fixture};
use crate::webhooks::testing::{batch, new_webhook};
use crate::webhooks::{WebhookAuth, WebhookChanges, WebhookOwner, WebhookScope};
use crate::{unix_now, EncryptionKey, StateError};

conformance_tests!(
    create_get_update_delete_round_trip,
    lists_by_owner,
    updates_keep_the_list_order,
    create_within_limit_counts_per_owner,
    concurrent_creations_do_not_pass_the_limit,
    batch_statuses_newest_first_limited_and_pruned,
    rotation_keeps_the_old_secret_until_it_expires,
    delivery_marks_and_deactivation,
    failed_batches_are_kept_replayed_paged_and_forgotten,
    a_claimed_replay_is_handed_out_once_until_its_lease_passes,
    wrong_or_missing_key_is_refused,
);

fn create_get_update_delete_round_trip(fixture: Fixture) {
    let state = &fixture.store;
    let mut new = new_webhook("orders", WebhookScope::All);
    new.auth = WebhookAuth::OAuth2 {
        url: "https://auth.example.com/token".into(),
        body: serde_json::json!({"client_id": "c", "client_secret": "s"})
            .as_object()
            .unwrap()
            .clone(),
    };
    new.exception_subaccounts = vec![4, 9];
    let created = state.create_webhook(new.clone()).unwrap();
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert!(created.signing.current.starts_with("whsec_"));
    assert_eq!(created.auth, new.auth);
    assert_eq!(created.custom_headers, new.custom_headers, "order kept");
    assert_eq!(
        state.get_webhook(&created.id).unwrap(),
        Some(created.clone())
    );

    let updated = state
        .update_webhook(
            &created.id,
            WebhookChanges {
                name: Some("orders-2".into()),
                active: Some(false),
                auth: Some(WebhookAuth::Basic {
                    username: "u".into(),
                    password: "p".into(),
                }),
                scope: Some(WebhookScope::Subaccount(3)),
                exception_subaccounts: Some(vec![]),
                ..WebhookChanges::default()
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "orders-2");
    assert!(!updated.active);
    assert_eq!(updated.target, created.target, "untouched fields stay");
    assert_eq!(updated.events, created.events);
    assert_eq!(updated.signing, created.signing);
    assert_eq!(updated.scope, WebhookScope::Subaccount(3));
    assert_eq!(state.get_webhook(&created.id).unwrap(), Some(updated));

    let with_token = |token: Option<&str>| WebhookChanges {
        auth_token: Some(token.map(String::from)),
        ..WebhookChanges::default()
    };
    let tokened = state
        .update_webhook(&created.id, with_token(Some("5ebe2294")))
        .unwrap()
        .unwrap();
    assert_eq!(tokened.auth_token.as_deref(), Some("5ebe2294"));
    assert_eq!(state.get_webhook(&created.id).unwrap(), Some(tokened));
    let kept = state
        .update_webhook(&created.id, WebhookChanges::default())
        .unwrap()
        .unwrap();
    assert_eq!(kept.auth_token.as_deref(), Some("5ebe2294"), "kept");
    let cleared = state
        .update_webhook(&created.id, with_token(None))
        .unwrap()
        .unwrap();
    assert_eq!(cleared.auth_token, None);

    assert!(state
        .update_webhook("missing", WebhookChanges::default())
        .unwrap()
        .is_none());
    state
        .record_batch_status(&batch(&created.id, "b1", 10))
        .unwrap();
    state
        .keep_failed_batch(&created.id, "b1", b"events", 10)
        .unwrap();
    assert!(state.delete_webhook(&created.id).unwrap());
    assert!(!state.delete_webhook(&created.id).unwrap());
    assert_eq!(state.get_webhook(&created.id).unwrap(), None);
    assert!(state.batch_statuses(&created.id, 10).unwrap().is_empty());
    assert!(state.failed_batches(None, 10).unwrap().is_empty());
}

fn lists_by_owner(fixture: Fixture) {
    let state = &fixture.store;
    let all = state
        .create_webhook(new_webhook("all", WebhookScope::All))
        .unwrap();
    let primary = state
        .create_webhook(new_webhook("primary", WebhookScope::Primary))
        .unwrap();
    let sub3 = state
        .create_webhook(new_webhook("sub3", WebhookScope::Subaccount(3)))
        .unwrap();
    state
        .create_webhook(new_webhook("sub4", WebhookScope::Subaccount(4)))
        .unwrap();
    let names = |owner| {
        state
            .list_webhooks(owner)
            .unwrap()
            .into_iter()
            .map(|w| w.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(None), ["all", "primary", "sub3", "sub4"]);
    assert_eq!(names(Some(WebhookOwner::Primary)), [all.name, primary.name]);
    assert_eq!(names(Some(WebhookOwner::Subaccount(3))), [sub3.name]);
    assert!(names(Some(WebhookOwner::Subaccount(5))).is_empty());
}

fn create_within_limit_counts_per_owner(fixture: Fixture) {
    let state = &fixture.store;
    for (name, scope) in [
        ("all", WebhookScope::All),
        ("primary", WebhookScope::Primary),
    ] {
        assert!(state
            .create_webhook_within(new_webhook(name, scope), 2)
            .unwrap()
            .is_some());
    }
    assert_eq!(state.count_webhooks(WebhookOwner::Primary).unwrap(), 2);
    // The primary account owns both scopes, so a third of either is refused.
    for scope in [WebhookScope::All, WebhookScope::Primary] {
        assert!(state
            .create_webhook_within(new_webhook("over", scope), 2)
            .unwrap()
            .is_none());
    }
    assert_eq!(state.count_webhooks(WebhookOwner::Primary).unwrap(), 2);
    // A subaccount has its own count.
    let sub = WebhookScope::Subaccount(3);
    assert!(state
        .create_webhook_within(new_webhook("sub", sub), 1)
        .unwrap()
        .is_some());
    assert!(state
        .create_webhook_within(new_webhook("sub-2", sub), 1)
        .unwrap()
        .is_none());
    assert_eq!(
        state.count_webhooks(WebhookOwner::Subaccount(3)).unwrap(),
        1
    );
    assert_eq!(
        state.count_webhooks(WebhookOwner::Subaccount(4)).unwrap(),
        0
    );
    assert_eq!(state.list_webhooks(None).unwrap().len(), 3);
}

fn batch_statuses_newest_first_limited_and_pruned(fixture: Fixture) {
    let state = &fixture.store;
    let hook = state
        .create_webhook(new_webhook("b", WebhookScope::All))
        .unwrap();
    for (id, ts) in [("old", 100), ("mid", 200), ("new", 300), ("new-too", 300)] {
        state.record_batch_status(&batch(&hook.id, id, ts)).unwrap();
    }
    state
        .record_batch_status(&batch("other", "x", 400))
        .unwrap();
    let ids = |limit| {
        state
            .batch_statuses(&hook.id, limit)
            .unwrap()
            .into_iter()
            .map(|b| b.batch_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(10), ["new-too", "new", "mid", "old"]);
    assert_eq!(ids(2), ["new-too", "new"]);
    assert_eq!(
        state.batch_statuses(&hook.id, 1).unwrap()[0],
        batch(&hook.id, "new-too", 300)
    );

    // Of batches created in the same second, the one recorded last comes first.
    state
        .record_batch_status(&batch(&hook.id, "new", 300))
        .unwrap();
    assert_eq!(ids(2), ["new", "new-too"]);

    // A later record of the same batch replaces the earlier one.
    let mut retried = batch(&hook.id, "mid", 200);
    retried.attempts = 5;
    retried.failure_code = None;
    state.record_batch_status(&retried).unwrap();
    let all = state.batch_statuses(&hook.id, 10).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.contains(&retried));

    assert_eq!(state.prune_batch_statuses(250).unwrap(), 2);
    assert_eq!(ids(10), ["new", "new-too"]);
    assert_eq!(state.batch_statuses("other", 10).unwrap().len(), 1);
}

fn rotation_keeps_the_old_secret_until_it_expires(fixture: Fixture) {
    let state = &fixture.store;
    let hook = state
        .create_webhook(new_webhook("r", WebhookScope::All))
        .unwrap();
    let before = unix_now();
    let fresh = state
        .rotate_signing_secret(&hook.id, Duration::from_secs(3600))
        .unwrap()
        .unwrap();
    assert!(fresh.starts_with("whsec_"));
    assert_ne!(fresh, hook.signing.current);
    let stored = state.get_webhook(&hook.id).unwrap().unwrap();
    assert_eq!(stored.signing.current, fresh);
    let previous = stored.signing.previous.clone().unwrap();
    assert_eq!(previous.secret, hook.signing.current);
    assert!(previous.expires_at >= before + 3600);
    assert_eq!(
        stored.signing.valid_at(unix_now()),
        [fresh.as_str(), hook.signing.current.as_str()]
    );
    assert_eq!(
        stored.signing.valid_at(previous.expires_at),
        [fresh.as_str()]
    );
    assert!(state
        .rotate_signing_secret("missing", Duration::from_secs(1))
        .unwrap()
        .is_none());
}

fn delivery_marks_and_deactivation(fixture: Fixture) {
    let state = &fixture.store;
    let hook = state
        .create_webhook(new_webhook("d", WebhookScope::All))
        .unwrap();
    assert!(state.mark_delivery(&hook.id, true, 1_000).unwrap());
    assert!(state.mark_delivery(&hook.id, false, 2_000).unwrap());
    let marked = state.get_webhook(&hook.id).unwrap().unwrap();
    assert_eq!(marked.updated_at, hook.updated_at, "marks are not changes");
    assert!(marked.active);
    assert!(state.deactivate_webhook(&hook.id).unwrap());
    let stored = state.get_webhook(&hook.id).unwrap().unwrap();
    assert_eq!(stored.last_successful, Some(1_000));
    assert_eq!(stored.last_failure, Some(2_000));
    assert!(!stored.active);
    assert!(!state.mark_delivery("missing", true, 1).unwrap());
    assert!(!state.deactivate_webhook("missing").unwrap());
}

fn updates_keep_the_list_order(fixture: Fixture) {
    let state = &fixture.store;
    let hooks = ["a", "b", "c"].map(|name| {
        state
            .create_webhook(new_webhook(name, WebhookScope::All))
            .unwrap()
    });
    let renamed = WebhookChanges {
        name: Some("a2".into()),
        ..WebhookChanges::default()
    };
    assert!(state
        .update_webhook(&hooks[0].id, renamed)
        .unwrap()
        .is_some());
    assert!(state
        .rotate_signing_secret(&hooks[1].id, Duration::from_secs(60))
        .unwrap()
        .is_some());
    assert!(state.deactivate_webhook(&hooks[2].id).unwrap());
    let names = state
        .list_webhooks(None)
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect::<Vec<_>>();
    assert_eq!(names, ["a2", "b", "c"]);
}

fn concurrent_creations_do_not_pass_the_limit(fixture: Fixture) {
    // Half the creations go through another handle on the same store, as another process's.
    let stores = [
        fixture.store.clone(),
        fixture.reopen(Some(fixture.key())).unwrap(),
    ];
    let creators = 8;
    let start = std::sync::Barrier::new(creators);
    let created = std::thread::scope(|scope| {
        let workers = (0..creators)
            .map(|i| {
                let (store, start) = (&stores[i % 2], &start);
                scope.spawn(move || {
                    start.wait();
                    let new = new_webhook(&format!("w{i}"), WebhookScope::Subaccount(5));
                    store.create_webhook_within(new, 3).unwrap().is_some()
                })
            })
            .collect::<Vec<_>>();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .filter(|&created| created)
            .count()
    });
    assert_eq!(created, 3);
    assert_eq!(
        fixture
            .store
            .count_webhooks(WebhookOwner::Subaccount(5))
            .unwrap(),
        3
    );
}

fn failed_batches_are_kept_replayed_paged_and_forgotten(fixture: Fixture) {
    let state = &fixture.store;
    for (webhook_id, batch_id, at) in [
        ("w2", "a", 300),
        ("w1", "b", 200),
        ("w1", "a", 100),
        ("w1", "B", 150),
        ("w0", "z", 100),
    ] {
        let payload = format!("{webhook_id}/{batch_id}");
        state
            .keep_failed_batch(webhook_id, batch_id, payload.as_bytes(), at)
            .unwrap();
    }
    let keys = |batches: Vec<(String, String, Vec<u8>)>| {
        batches
            .into_iter()
            .map(|(webhook_id, batch_id, payload)| {
                assert_eq!(payload, format!("{webhook_id}/{batch_id}").as_bytes());
                format!("{webhook_id}/{batch_id}")
            })
            .collect::<Vec<_>>()
    };
    let page = |after, limit| keys(state.failed_batches(after, limit).unwrap());
    // A lease of 0: what is claimed may be claimed again at once.
    let replays = |limit| keys(state.claim_replays(limit, Duration::ZERO).unwrap());

    // Pages in (webhook id, batch id) order, byte-wise ("B" before "a").
    assert_eq!(page(None, 3), ["w0/z", "w1/B", "w1/a"]);
    assert_eq!(page(Some(("w1", "a")), 10), ["w1/b", "w2/a"]);
    assert!(page(Some(("w2", "a")), 10).is_empty());

    // Replays asked for, oldest first (then in key order).
    assert!(replays(10).is_empty());
    for (webhook_id, batch_id) in [("w2", "a"), ("w1", "a"), ("w0", "z")] {
        assert!(state.request_replay(webhook_id, batch_id).unwrap());
    }
    assert!(!state.request_replay("w1", "missing").unwrap());
    assert_eq!(replays(10), ["w0/z", "w1/a", "w2/a"]);
    assert_eq!(replays(1), ["w0/z"]);

    // An erasure rewrites a payload; a batch kept again is no longer asked for.
    assert!(state.replace_failed_batch("w1", "a", b"scrubbed").unwrap());
    assert!(!state.replace_failed_batch("w1", "missing", b"x").unwrap());
    let scrubbed = state.claim_replays(10, Duration::ZERO).unwrap();
    assert_eq!(scrubbed[1], ("w1".into(), "a".into(), b"scrubbed".to_vec()));
    state.keep_failed_batch("w2", "a", b"w2/a", 400).unwrap();
    state.forget_failed_batch("w0", "z").unwrap();
    state.forget_failed_batch("w0", "missing").unwrap();
    let requested = state.claim_replays(10, Duration::ZERO).unwrap();
    assert_eq!(requested, [("w1".into(), "a".into(), b"scrubbed".to_vec())]);
    state.forget_failed_batch("w1", "a").unwrap();
    assert!(replays(10).is_empty());
    assert_eq!(page(None, 10), ["w1/B", "w1/b", "w2/a"]);

    // Pruning drops the batches kept before the horizon.
    state.prune_batch_statuses(250).unwrap();
    assert_eq!(page(None, 10), ["w2/a"]);
}

fn a_claimed_replay_is_handed_out_once_until_its_lease_passes(fixture: Fixture) {
    let state = &fixture.store;
    let other_worker = fixture.reopen(Some(fixture.key())).unwrap();
    state.keep_failed_batch("w", "a", b"batch a", 100).unwrap();
    state.keep_failed_batch("w", "b", b"batch b", 200).unwrap();
    assert!(state.request_replay("w", "a").unwrap());
    assert!(state.request_replay("w", "b").unwrap());
    let hour = Duration::from_secs(3600);
    let taken = state.claim_replays(1, hour).unwrap();
    assert_eq!(taken, [("w".into(), "a".into(), b"batch a".to_vec())]);
    let taken = other_worker.claim_replays(10, hour).unwrap();
    assert_eq!(taken, [("w".into(), "b".into(), b"batch b".to_vec())]);
    assert!(state.claim_replays(10, hour).unwrap().is_empty());
    assert!(other_worker.claim_replays(10, hour).unwrap().is_empty());
    // Past the lease (a worker that died before queueing it), another worker takes it.
    let again = other_worker.claim_replays(10, Duration::ZERO).unwrap();
    assert_eq!(again.len(), 2);
    // Asked for again, a replay can be taken at once.
    assert!(state.request_replay("w", "a").unwrap());
    let asked_again = state.claim_replays(10, hour).unwrap();
    assert_eq!(asked_again, [("w".into(), "a".into(), b"batch a".to_vec())]);
}

fn wrong_or_missing_key_is_refused(fixture: Fixture) {
    let hook = fixture
        .store
        .create_webhook(new_webhook("k", WebhookScope::All))
        .unwrap();
    assert!(matches!(
        fixture.reopen(Some(&EncryptionKey::generate())),
        Err(StateError::WrongKey)
    ));
    let keyless = fixture.reopen(None).unwrap();
    assert!(matches!(
        keyless.get_webhook(&hook.id),
        Err(StateError::NoEncryptionKey)
    ));
    assert!(matches!(
        keyless.list_webhooks(None),
        Err(StateError::NoEncryptionKey)
    ));
    assert!(matches!(
        keyless.create_webhook(new_webhook("no key", WebhookScope::All)),
        Err(StateError::NoEncryptionKey)
    ));
    assert!(matches!(
        keyless.rotate_signing_secret(&hook.id, Duration::from_secs(1)),
        Err(StateError::NoEncryptionKey)
    ));
    assert_eq!(keyless.count_webhooks(WebhookOwner::Primary).unwrap(), 1);
    let reopened = fixture.reopen(Some(fixture.key())).unwrap();
    assert_eq!(reopened.get_webhook(&hook.id).unwrap(), Some(hook));
}
