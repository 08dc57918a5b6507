//! Erasure tombstones.

use super::{conformance_tests, Fixture};
use crate::erasures::Tombstones;

conformance_tests!(the_latest_erasure_of_an_address_survives_reopening);

fn the_latest_erasure_of_an_address_survives_reopening(fixture: Fixture) {
    let state = &fixture.store;
    state.record_erasure("Ann@Example.com", 100).unwrap();
    state.record_erasure("ann@example.com", 50).unwrap();
    state.record_erasure("bob@example.com", 7).unwrap();
    let state = fixture.reopen(None).unwrap();
    assert_eq!(state.erasures().unwrap().len(), 2);
    let tombstones = Tombstones::load(state.as_ref()).unwrap();
    assert!(tombstones.erased("ann@example.com", 100));
    assert!(!tombstones.erased("ann@example.com", 101));
    assert!(tombstones.erased("BOB@example.com", 7));
}
