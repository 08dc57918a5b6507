//! Answers kept for idempotent ingest.

use super::{conformance_tests, Fixture};
use crate::StoredAnswer;

conformance_tests!(the_first_answer_is_kept_per_api_key_until_it_expires);

fn answer(digest: u8, status: u16, created_at: i64) -> StoredAnswer {
    StoredAnswer {
        request_digest: [digest; 32],
        status,
        body: format!("{{\"status\":{status}}}").into_bytes(),
        created_at,
    }
}

fn the_first_answer_is_kept_per_api_key_until_it_expires(fixture: Fixture) {
    let state = &fixture.store;
    state
        .keep_answer("k1", "retry-1", &answer(1, 200, 100), 0)
        .unwrap();
    state
        .keep_answer("k1", "retry-1", &answer(2, 400, 101), 0)
        .unwrap();
    assert_eq!(
        state.find_answer("k1", "retry-1", 0).unwrap(),
        Some(answer(1, 200, 100)),
        "the first answer stays"
    );
    assert_eq!(
        state.find_answer("k2", "retry-1", 0).unwrap(),
        None,
        "another key"
    );
    assert_eq!(
        state.find_answer("k1", "retry-1", 101).unwrap(),
        None,
        "expired"
    );
    state
        .keep_answer("k1", "other", &answer(3, 200, 200), 150)
        .unwrap();
    state
        .keep_answer("k1", "retry-1", &answer(4, 200, 200), 150)
        .unwrap();
    assert_eq!(
        state.find_answer("k1", "retry-1", 0).unwrap(),
        Some(answer(4, 200, 200)),
        "the expired answer was dropped, so the key could be used again"
    );
}
