//! A stored event through the borrowing scanner and its readers, against serde_json on the
//! same text (`eventhose_analytics::fuzzing::check_stored` panics where they disagree).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|stored: &[u8]| {
    eventhose_analytics::fuzzing::check_stored(stored);
});
