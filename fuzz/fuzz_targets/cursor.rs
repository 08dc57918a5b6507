//! A `cursor` parameter through the events and suppressions cursor readers: no panic, and
//! whatever decodes re-encodes to a token that decodes to the same cursor.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    eventhose_api::fuzzing::check_cursors(&String::from_utf8_lossy(data));
});
