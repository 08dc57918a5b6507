//! Suppression lists.

use eventhose_model::AppliedId;

use super::{conformance_tests, Fixture};
use crate::suppressions::recipient_key;
use crate::{
    unix_now, AppliedBatch, DeleteOutcome, DescriptionFilter, ListScope, ListSelector, PageRequest,
    SortOrder, StateStore, SuppressionDeletion, SuppressionPage, SuppressionQuery,
    SuppressionSource, SuppressionType, SuppressionUpsert, UpsertOutcome, WhenKept,
};
use SuppressionSource::*;
use SuppressionType::*;

conformance_tests!(
    creates_finds_case_insensitively_by_domain_and_keeps_the_display_form,
    entries_are_per_account_type_and_list,
    automatic_writes_respect_people_compliance_and_time,
    abort_writes_nothing_when_an_entry_is_kept,
    an_invalid_entry_fails_the_whole_upsert,
    events_write_their_entries_and_identities_together,
    a_batch_holding_a_recipient_twice_acts_as_upserts_one_after_the_other,
    deletes_by_type_and_list_and_protects_compliance,
    cursor_paging_visits_every_entry_once_in_order,
    offset_paging_and_order,
    filters_combine,
    description_words_ignore_ascii_case_only,
    scopes_lists_and_summaries,
    entries_survive_reopening,
);

fn entry(recipient: &str, kind: SuppressionType, source: SuppressionSource) -> SuppressionUpsert {
    SuppressionUpsert {
        recipient: recipient.into(),
        suppression_type: kind,
        source,
        description: Some(format!("{source} for {recipient}")),
        list_id: None,
        subaccount: None,
        occurred_at: 1_000,
    }
}

fn upsert(state: &dyn StateStore, entries: Vec<SuppressionUpsert>) -> Vec<UpsertOutcome> {
    let report = state.upsert_suppressions(entries, WhenKept::Skip).unwrap();
    assert!(report.committed);
    report.outcomes
}

/// Moves every entry of `recipient` to `updated` (tests need distinct times without waiting).
fn set_updated(fixture: &Fixture, recipient: &str, updated: i64) {
    let key = recipient_key(recipient).unwrap();
    fixture.execute(&format!(
        "UPDATE suppressions SET updated = {updated} WHERE recipient_key = '{key}'"
    ));
}

fn recipients(page: &SuppressionPage) -> Vec<String> {
    page.entries.iter().map(|e| e.recipient.clone()).collect()
}

fn creates_finds_case_insensitively_by_domain_and_keeps_the_display_form(fixture: Fixture) {
    let state = &*fixture.store;
    let before = unix_now();
    let outcomes = upsert(
        state,
        vec![
            entry("Local@Example.COM", Transactional, ManuallyAdded),
            entry("other@example.com", NonTransactional, BounceRule),
        ],
    );
    assert_eq!(outcomes, [UpsertOutcome::Created, UpsertOutcome::Created]);
    let found = state
        .find_suppressions("Local@example.com", ListScope::All)
        .unwrap();
    assert_eq!(found.len(), 1);
    let stored = &found[0];
    assert_eq!(stored.recipient, "Local@Example.COM");
    assert_eq!(stored.suppression_type, Transactional);
    assert_eq!(stored.source, ManuallyAdded);
    assert_eq!(
        stored.description.as_deref(),
        Some("Manually Added for Local@Example.COM")
    );
    assert_eq!((stored.list_id.as_deref(), stored.subaccount), (None, None));
    assert!(stored.created >= before && stored.updated == stored.created);
    // Found whatever the letter case of the address asked for.
    let found = state
        .find_suppressions("local@EXAMPLE.com", ListScope::All)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].recipient, "Local@Example.COM");
    assert!(state
        .find_suppressions("not an address", ListScope::All)
        .unwrap()
        .is_empty());

    // Written again with another spelling of the domain: the same entry, shown as now sent.
    let mut again = entry("Local@EXAMPLE.com", Transactional, ManuallyAdded);
    again.description = None;
    assert_eq!(upsert(state, vec![again]), [UpsertOutcome::Updated]);
    let found = state
        .find_suppressions("Local@example.com", ListScope::Primary)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].recipient, "Local@EXAMPLE.com");
    assert_eq!(found[0].description, None);
}

fn entries_are_per_account_type_and_list(fixture: Fixture) {
    let state = &*fixture.store;
    let base = entry("a@example.com", Transactional, ManuallyAdded);
    let mut non = base.clone();
    non.suppression_type = NonTransactional;
    let mut listed = base.clone();
    listed.list_id = Some("news.example.com".into());
    let mut sub = base.clone();
    sub.subaccount = Some(7);
    let mut zero = base.clone();
    zero.subaccount = Some(0);
    let outcomes = upsert(state, vec![base, non, listed, sub, zero]);
    assert_eq!(
        outcomes,
        [
            UpsertOutcome::Created,
            UpsertOutcome::Created,
            UpsertOutcome::Created,
            UpsertOutcome::Created,
            UpsertOutcome::Updated, // subaccount 0 is the primary account
        ]
    );
    let all = state
        .find_suppressions("a@example.com", ListScope::All)
        .unwrap();
    assert_eq!(all.len(), 4);
    let primary = state
        .find_suppressions("a@example.com", ListScope::Primary)
        .unwrap();
    assert_eq!(primary.len(), 3);
    assert!(primary.iter().all(|e| e.subaccount.is_none()));
    assert_eq!(
        primary
            .iter()
            .filter_map(|e| e.list_id.as_deref())
            .collect::<Vec<_>>(),
        ["news.example.com"]
    );
    let sub = state
        .find_suppressions("a@example.com", ListScope::Subaccount(7))
        .unwrap();
    assert_eq!(sub.len(), 1);
    assert_eq!(sub[0].subaccount, Some(7));
    assert!(state
        .find_suppressions("a@example.com", ListScope::Subaccount(8))
        .unwrap()
        .is_empty());
}

fn automatic_writes_respect_people_compliance_and_time(fixture: Fixture) {
    let state = &*fixture.store;
    upsert(
        state,
        vec![
            entry("manual@example.com", NonTransactional, ManuallyAdded),
            entry("legal@example.com", NonTransactional, Compliance),
            entry("bounced@example.com", NonTransactional, BounceRule),
        ],
    );
    set_updated(&fixture, "bounced@example.com", 500);
    let complaint = |recipient: &str, at: i64| {
        let mut e = entry(recipient, NonTransactional, SpamComplaint);
        e.occurred_at = at;
        e
    };
    let outcomes = upsert(
        state,
        vec![
            complaint("manual@example.com", 2_000),
            complaint("legal@example.com", 2_000),
            complaint("bounced@example.com", 1_000), // not later than the bounce
        ],
    );
    assert_eq!(
        outcomes,
        [
            UpsertOutcome::Kept,
            UpsertOutcome::Kept,
            UpsertOutcome::Unchanged
        ]
    );
    let source_of = |recipient: &str| {
        let found = state.find_suppressions(recipient, ListScope::All).unwrap();
        (found[0].source, found[0].updated)
    };
    assert_eq!(source_of("manual@example.com").0, ManuallyAdded);
    assert_eq!(source_of("legal@example.com").0, Compliance);
    assert_eq!(source_of("bounced@example.com"), (BounceRule, 500));

    // A later event replaces an automatic entry, and its redelivery changes nothing.
    let later = complaint("bounced@example.com", 3_000);
    assert_eq!(upsert(state, vec![later.clone()]), [UpsertOutcome::Updated]);
    let (source, updated) = source_of("bounced@example.com");
    assert_eq!(source, SpamComplaint);
    assert!(updated >= unix_now() - 5);
    set_updated(&fixture, "bounced@example.com", 600);
    assert_eq!(upsert(state, vec![later]), [UpsertOutcome::Unchanged]);
    assert_eq!(source_of("bounced@example.com"), (SpamComplaint, 600));

    // People replace automatic entries but not compliance ones.
    let outcomes = upsert(
        state,
        vec![
            entry("bounced@example.com", NonTransactional, ManuallyAdded),
            entry("legal@example.com", NonTransactional, ManuallyAdded),
        ],
    );
    assert_eq!(outcomes, [UpsertOutcome::Updated, UpsertOutcome::Kept]);
    assert_eq!(source_of("bounced@example.com").0, ManuallyAdded);
    assert_eq!(source_of("legal@example.com").0, Compliance);
}

fn abort_writes_nothing_when_an_entry_is_kept(fixture: Fixture) {
    let state = &*fixture.store;
    upsert(
        state,
        vec![entry("legal@example.com", Transactional, Compliance)],
    );
    let report = state
        .upsert_suppressions(
            vec![
                entry("new@example.com", Transactional, ManuallyAdded),
                entry("legal@example.com", Transactional, ManuallyAdded),
            ],
            WhenKept::Abort,
        )
        .unwrap();
    assert!(!report.committed);
    assert_eq!(report.kept(), [1]);
    assert!(state
        .find_suppressions("new@example.com", ListScope::All)
        .unwrap()
        .is_empty());
    assert_eq!(
        state.suppression_summary(ListScope::All).unwrap().total(),
        1
    );
}

fn an_invalid_entry_fails_the_whole_upsert(fixture: Fixture) {
    let state = &*fixture.store;
    let mut bad_list = entry("b@example.com", Transactional, ManuallyAdded);
    bad_list.list_id = Some("..".into());
    for bad in [
        entry("not-an-address", Transactional, ManuallyAdded),
        bad_list,
    ] {
        let err = state
            .upsert_suppressions(
                vec![entry("a@example.com", Transactional, ManuallyAdded), bad],
                WhenKept::Skip,
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("entry 1: "), "{err}");
    }
    assert_eq!(
        state.suppression_summary(ListScope::All).unwrap().total(),
        0
    );
}

fn deletes_by_type_and_list_and_protects_compliance(fixture: Fixture) {
    let state = &*fixture.store;
    let with_list = |kind, list: Option<&str>| {
        let mut e = entry("r@example.com", kind, ManuallyAdded);
        e.list_id = list.map(String::from);
        e
    };
    upsert(
        state,
        vec![
            with_list(Transactional, None),
            with_list(NonTransactional, None),
            with_list(NonTransactional, Some("news")),
            with_list(NonTransactional, Some("offers")),
        ],
    );
    let deletion = |kind, list| SuppressionDeletion {
        recipient: "r@EXAMPLE.com".into(),
        subaccount: None,
        suppression_type: kind,
        list,
    };
    let remaining = || {
        let mut left: Vec<(SuppressionType, Option<String>)> = state
            .find_suppressions("r@example.com", ListScope::All)
            .unwrap()
            .into_iter()
            .map(|e| (e.suppression_type, e.list_id))
            .collect();
        left.sort();
        left
    };
    assert_eq!(
        state
            .delete_suppressions(&deletion(None, ListSelector::List("news".into())))
            .unwrap(),
        DeleteOutcome::Deleted(1)
    );
    assert_eq!(
        state
            .delete_suppressions(&deletion(Some(Transactional), ListSelector::AccountLevel))
            .unwrap(),
        DeleteOutcome::Deleted(1)
    );
    assert_eq!(
        remaining(),
        [
            (NonTransactional, None),
            (NonTransactional, Some("offers".into()))
        ]
    );
    assert_eq!(
        state
            .delete_suppressions(&deletion(Some(Transactional), ListSelector::Any))
            .unwrap(),
        DeleteOutcome::NotFound
    );
    let mut other_account = deletion(None, ListSelector::Any);
    other_account.subaccount = Some(3);
    assert_eq!(
        state.delete_suppressions(&other_account).unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        state
            .delete_suppressions(&deletion(None, ListSelector::Any))
            .unwrap(),
        DeleteOutcome::Deleted(2)
    );
    assert!(remaining().is_empty());

    upsert(
        state,
        vec![
            entry("r@example.com", Transactional, Compliance),
            entry("r@example.com", NonTransactional, BounceRule),
        ],
    );
    assert_eq!(
        state
            .delete_suppressions(&deletion(None, ListSelector::Any))
            .unwrap(),
        DeleteOutcome::Protected
    );
    assert_eq!(remaining().len(), 2, "nothing removed");
    assert_eq!(
        state
            .delete_suppressions(&deletion(Some(NonTransactional), ListSelector::Any))
            .unwrap(),
        DeleteOutcome::Deleted(1)
    );
}

/// Twelve entries over two accounts, two domains, sources and types; `updated` is
/// 100 + i / 2 (pairs share a second).
fn populate(fixture: &Fixture) {
    let state = &*fixture.store;
    let sources = [BounceRule, SpamComplaint, ManuallyAdded];
    let entries: Vec<SuppressionUpsert> = (0..12)
        .map(|i| {
            let domain = if i % 2 == 0 {
                "Even.example"
            } else {
                "odd.example"
            };
            let mut e = entry(
                &format!("user{i:02}@{domain}"),
                if i % 3 == 0 {
                    Transactional
                } else {
                    NonTransactional
                },
                sources[i % 3],
            );
            e.subaccount = (i % 4 == 3).then_some(5);
            e.description = Some(format!("550 5.1.1 <user{i}> 100%_unknown mailbox"));
            e
        })
        .collect();
    upsert(state, entries);
    for i in 0..12 {
        let domain = if i % 2 == 0 {
            "even.example"
        } else {
            "odd.example"
        };
        let updated = 100 + i64::from(i) / 2;
        set_updated(fixture, &format!("user{i:02}@{domain}"), updated);
    }
}

fn query(page: PageRequest) -> SuppressionQuery {
    SuppressionQuery {
        page,
        ..SuppressionQuery::default()
    }
}

fn cursor_paging_visits_every_entry_once_in_order(fixture: Fixture) {
    populate(&fixture);
    let state = &*fixture.store;
    for order in [SortOrder::Descending, SortOrder::Ascending] {
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let mut q = query(PageRequest::Cursor { after, limit: 5 });
            q.order = order;
            let page = state.search_suppressions(&q).unwrap();
            assert_eq!(page.total_count, 12);
            seen.extend(
                page.entries
                    .iter()
                    .map(|e| (e.updated, e.recipient.clone())),
            );
            pages += 1;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 12);
        let mut unique: Vec<_> = seen.iter().map(|(_, r)| r.clone()).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 12, "no repeats");
        let times: Vec<i64> = seen.iter().map(|(t, _)| *t).collect();
        let mut sorted = times.clone();
        sorted.sort();
        if order == SortOrder::Descending {
            sorted.reverse();
        }
        assert_eq!(times, sorted);
    }
}

fn offset_paging_and_order(fixture: Fixture) {
    populate(&fixture);
    let state = &*fixture.store;
    let first = state
        .search_suppressions(&query(PageRequest::Offset {
            offset: 0,
            limit: 4,
        }))
        .unwrap();
    let second = state
        .search_suppressions(&query(PageRequest::Offset {
            offset: 4,
            limit: 4,
        }))
        .unwrap();
    let last = state
        .search_suppressions(&query(PageRequest::Offset {
            offset: 8,
            limit: 4,
        }))
        .unwrap();
    assert_eq!(recipients(&first)[0], "user11@odd.example", "newest first");
    assert!(first.next.is_some() && second.next.is_some());
    assert!(last.next.is_none());
    let mut all: Vec<String> = [first, second, last].iter().flat_map(recipients).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12);
}

fn filters_combine(fixture: Fixture) {
    populate(&fixture);
    let state = &*fixture.store;
    let count = |q: SuppressionQuery| state.search_suppressions(&q).unwrap().total_count;
    let base = SuppressionQuery::default;
    assert_eq!(count(base()), 12);
    assert_eq!(
        count(SuppressionQuery {
            domain: Some("EVEN.example".into()),
            ..base()
        }),
        6
    );
    assert_eq!(
        count(SuppressionQuery {
            sources: vec![BounceRule, ManuallyAdded],
            ..base()
        }),
        8
    );
    assert_eq!(
        count(SuppressionQuery {
            types: vec![Transactional],
            ..base()
        }),
        4
    );
    assert_eq!(
        count(SuppressionQuery {
            updated_from: Some(101),
            updated_to: Some(103),
            ..base()
        }),
        6
    );
    let page = state
        .search_suppressions(&SuppressionQuery {
            recipient: Some("user03@ODD.example".into()),
            ..base()
        })
        .unwrap();
    assert_eq!(recipients(&page), ["user03@odd.example"]);
    // Words in any order, ASCII case ignored; LIKE wildcards in the text match literally.
    assert_eq!(
        count(SuppressionQuery {
            description: Some(DescriptionFilter::Words("MAILBOX 550".into())),
            ..base()
        }),
        12
    );
    assert_eq!(
        count(SuppressionQuery {
            description: Some(DescriptionFilter::Words("100%_unknown <user1>".into())),
            ..base()
        }),
        1
    );
    assert_eq!(
        count(SuppressionQuery {
            description: Some(DescriptionFilter::Words("100%x".into())),
            ..base()
        }),
        0
    );
    assert_eq!(
        count(SuppressionQuery {
            description: Some(DescriptionFilter::Exact(
                "550 5.1.1 <user4> 100%_unknown mailbox".into()
            )),
            ..base()
        }),
        1
    );
    assert_eq!(
        count(SuppressionQuery {
            description: Some(DescriptionFilter::Exact("550".into())),
            ..base()
        }),
        0
    );
}

fn scopes_lists_and_summaries(fixture: Fixture) {
    let state = &*fixture.store;
    let mut listed = entry("l@example.com", NonTransactional, ManuallyAdded);
    listed.list_id = Some("news".into());
    let mut sub = entry("s@example.com", NonTransactional, SpamComplaint);
    sub.subaccount = Some(9);
    upsert(
        state,
        vec![
            entry("p@example.com", Transactional, BounceRule),
            entry("p@example.com", NonTransactional, BounceRule),
            listed,
            sub,
            entry("c@example.com", Transactional, Compliance),
        ],
    );
    let search = |lists, list| {
        let mut found = recipients(
            &state
                .search_suppressions(&SuppressionQuery {
                    lists,
                    list,
                    ..SuppressionQuery::default()
                })
                .unwrap(),
        );
        found.sort();
        found
    };
    assert_eq!(search(ListScope::All, ListSelector::Any).len(), 5);
    assert_eq!(
        search(ListScope::Subaccount(9), ListSelector::Any),
        ["s@example.com"]
    );
    assert_eq!(
        search(ListScope::Primary, ListSelector::List("news".into())),
        ["l@example.com"]
    );
    assert_eq!(
        search(ListScope::Primary, ListSelector::AccountLevel),
        ["c@example.com", "p@example.com", "p@example.com"]
    );

    let all = state.suppression_summary(ListScope::All).unwrap();
    assert_eq!(all.count(BounceRule), 2);
    assert_eq!(all.count(ManuallyAdded), 1);
    assert_eq!(all.count(SpamComplaint), 1);
    assert_eq!(all.count(Compliance), 1);
    assert_eq!(all.count(UnsubscribeLink), 0);
    assert_eq!(all.total(), 5);
    let primary = state.suppression_summary(ListScope::Primary).unwrap();
    assert_eq!((primary.total(), primary.count(SpamComplaint)), (4, 0));
    let sub = state.suppression_summary(ListScope::Subaccount(9)).unwrap();
    assert_eq!((sub.total(), sub.count(SpamComplaint)), (1, 1));
}

fn entries_survive_reopening(fixture: Fixture) {
    upsert(
        &*fixture.store,
        vec![entry("kept@example.com", Transactional, ManuallyAdded)],
    );
    let reopened = fixture.reopen(Some(fixture.key())).unwrap();
    assert_eq!(
        reopened
            .find_suppressions("kept@example.com", ListScope::All)
            .unwrap()
            .len(),
        1
    );
}

fn a_batch_holding_a_recipient_twice_acts_as_upserts_one_after_the_other(fixture: Fixture) {
    let state = &*fixture.store;
    let at = |mut e: SuppressionUpsert, occurred_at: i64| {
        e.occurred_at = occurred_at;
        e
    };
    // Each entry meets what the one before it left.
    let steps = |local: &str| {
        let lower = format!("{local}@example.com");
        let upper = format!("{}@EXAMPLE.com", local.to_uppercase());
        vec![
            at(entry(&lower, Transactional, BounceRule), 1_000),
            at(entry(&upper, Transactional, SpamComplaint), 1_000),
            at(entry(&lower, Transactional, SpamComplaint), 2_000),
            entry(&upper, Transactional, ManuallyAdded),
            at(entry(&lower, Transactional, BounceRule), 3_000),
            entry(&lower, Transactional, Compliance),
            entry(&upper, Transactional, ManuallyAdded),
        ]
    };
    let batched = upsert(state, steps("batch"));
    let one_by_one: Vec<UpsertOutcome> = steps("single")
        .into_iter()
        .flat_map(|e| upsert(state, vec![e]))
        .collect();
    use UpsertOutcome::*;
    assert_eq!(
        batched,
        [Created, Unchanged, Updated, Updated, Kept, Updated, Kept]
    );
    assert_eq!(batched, one_by_one);
    for local in ["batch", "single"] {
        let found = state
            .find_suppressions(&format!("{local}@example.com"), ListScope::All)
            .unwrap();
        assert_eq!(found.len(), 1, "{local}");
        assert_eq!(found[0].recipient, format!("{local}@example.com"));
        assert_eq!(found[0].source, Compliance);
        assert_eq!(
            found[0].description,
            Some(format!("Compliance for {local}@example.com"))
        );
    }

    // Kept inside the batch: an aborted upsert writes none of its entries.
    let report = state
        .upsert_suppressions(
            vec![
                entry("fresh@example.com", Transactional, ManuallyAdded),
                entry("FRESH@example.com", Transactional, BounceRule),
            ],
            WhenKept::Abort,
        )
        .unwrap();
    assert!(!report.committed);
    assert_eq!(report.outcomes, [Created, Kept]);
    assert!(state
        .find_suppressions("fresh@example.com", ListScope::All)
        .unwrap()
        .is_empty());
}

fn description_words_ignore_ascii_case_only(fixture: Fixture) {
    let state = &*fixture.store;
    let mut e = entry("a@example.com", Transactional, BounceRule);
    e.description = Some("Échec: Mailbox FULL".into());
    upsert(state, vec![e]);
    let count = |words: &str| {
        let query = SuppressionQuery {
            description: Some(DescriptionFilter::Words(words.into())),
            ..SuppressionQuery::default()
        };
        state.search_suppressions(&query).unwrap().total_count
    };
    assert_eq!(count("full mailbox"), 1);
    assert_eq!(count("Échec"), 1);
    assert_eq!(count("échec"), 0, "non-ASCII letters keep their case");
    assert_eq!(count("ÉCHEC: mailbox"), 1, "ASCII letters in any case");
}

fn events_write_their_entries_and_identities_together(fixture: Fixture) {
    let state = &*fixture.store;
    let ids = [
        AppliedId {
            minute: 10,
            identity: 1,
        },
        AppliedId {
            minute: 11,
            identity: 2,
        },
    ];
    let applied = AppliedBatch {
        subscriber: "suppressions",
        ids: &ids,
        forget_before: 0,
    };
    let report = state
        .upsert_from_events(
            vec![
                entry("a@example.com", NonTransactional, SpamComplaint),
                entry("a@example.com", NonTransactional, SpamComplaint),
            ],
            applied,
        )
        .unwrap();
    assert!(report.committed);
    assert_eq!(
        report.outcomes,
        [UpsertOutcome::Created, UpsertOutcome::Unchanged]
    );
    let mut kept = state.applied_events("suppressions", 0).unwrap();
    kept.sort_by_key(|id| id.identity);
    assert_eq!(kept, ids);
    assert_eq!(
        state
            .find_suppressions("a@example.com", ListScope::All)
            .unwrap()
            .len(),
        1
    );
    // Identities are kept even when no entry changes.
    let later = [AppliedId {
        minute: 12,
        identity: 3,
    }];
    let applied = AppliedBatch {
        subscriber: "suppressions",
        ids: &later,
        forget_before: 0,
    };
    let report = state
        .upsert_from_events(
            vec![entry("a@example.com", NonTransactional, SpamComplaint)],
            applied,
        )
        .unwrap();
    assert_eq!(report.outcomes, [UpsertOutcome::Unchanged]);
    assert_eq!(state.applied_events("suppressions", 12).unwrap(), later);
}
