//! SCIM filters, PATCH paths and PATCH bodies from provisioning clients: a parse either fails
//! cleanly or gives a tree whose canonical text parses back to it; resolving a filter and
//! applying a PATCH to a user document never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_core::scim::filter::{parse_filter, parse_patch_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = parse_filter(text) {
        assert_eq!(parse_filter(&filter.to_string()).ok(), Some(filter));
    }
    let _ = parse_patch_path(text);
    let _ = portico_core::scim::user_filter_of(text, &[]);
    if let Ok(body) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = portico_core::scim::patch_user_document(&body);
    }
});
