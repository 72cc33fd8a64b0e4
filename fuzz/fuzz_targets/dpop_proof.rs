//! DPoP proof headers (RFC 9449), read before any signature is checked: never a panic, and
//! nothing accepted that is an HMAC proof or carries no usable public key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((header, jwk)) = portico_core::oauth::proof_key(text) {
        assert!(!format!("{:?}", header.alg).starts_with("HS"));
        assert!(!portico_core::directory::allowed_algorithms(&jwk).is_empty());
    }
});
