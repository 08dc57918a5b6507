//! Applied-event identities.

use eventhose_model::AppliedId;

use super::{conformance_tests, Fixture};
use crate::AppliedBatch;

conformance_tests!(identities_are_kept_per_subscriber_until_they_leave_the_window);

fn id(minute: i64, identity: u64) -> AppliedId {
    AppliedId { minute, identity }
}

fn batch<'a>(subscriber: &'a str, ids: &'a [AppliedId], forget_before: i64) -> AppliedBatch<'a> {
    AppliedBatch {
        subscriber,
        ids,
        forget_before,
    }
}

fn identities_are_kept_per_subscriber_until_they_leave_the_window(fixture: Fixture) {
    let state = &fixture.store;
    state
        .remember_applied(batch("webhooks", &[id(10, 1), id(11, 2), id(10, 5)], 0))
        .unwrap();
    state
        .remember_applied(batch("suppressions", &[id(10, 3)], 0))
        .unwrap();

    let state = fixture.reopen(Some(fixture.key())).unwrap();
    let mut kept = state.applied_events("webhooks", 0).unwrap();
    kept.sort_by_key(|id| id.identity);
    assert_eq!(kept, [id(10, 1), id(11, 2), id(10, 5)]);
    assert_eq!(state.applied_events("webhooks", 11).unwrap(), [id(11, 2)]);
    state
        .remember_applied(batch("webhooks", &[id(12, 4)], 11))
        .unwrap();
    let mut kept = state.applied_events("webhooks", 0).unwrap();
    kept.sort_by_key(|id| id.identity);
    assert_eq!(kept, [id(11, 2), id(12, 4)], "minute 10 left the window");
    assert_eq!(
        state.applied_events("suppressions", 0).unwrap(),
        [id(10, 3)]
    );
}
