//! A raw query string through the APIs' query reader, against the form decoder and the
//! documented rules (`eventhose_api::fuzzing::check_query` panics where they disagree).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    eventhose_api::fuzzing::check_query(&String::from_utf8_lossy(data));
});
