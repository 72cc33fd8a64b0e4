//! Client metadata of dynamic registration (RFC 7591 JSON from anyone holding an initial
//! access token): never a panic, and a public client never reads as a confidential one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(metadata) = serde_json::from_slice::<portico_core::directory::ClientMetadata>(data)
    else {
        return;
    };
    if let Ok(kind) = metadata.kind() {
        if metadata.token_endpoint_auth_method.as_deref() == Some("none") {
            assert!(!kind.is_confidential());
        }
    }
});
