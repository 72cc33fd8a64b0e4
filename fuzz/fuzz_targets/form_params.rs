//! Form bodies and query strings from the network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = portico_http::form::Params::parse(data) {
        for name in ["client_id", "redirect_uri", "scope", "code", "grant_type"] {
            let _ = params.get(name);
            let _ = params.flag(name);
        }
    }
});
