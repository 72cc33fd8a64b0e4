//! The native API's own fields (challenge types, capabilities, sign-up attributes JSON) in a
//! form body from the network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = portico_http::form::Params::parse(data) {
        let _ = portico_http::native_fields::read_all(&params);
    }
});
