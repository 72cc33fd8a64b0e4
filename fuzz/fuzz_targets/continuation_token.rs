//! Continuation tokens as native-API clients send them back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = portico_core::signin::read_with_fixed_key(token);
    }
});
