//! What a WebAuthn client sends back (an assertion from `get()`, a registration from
//! `create()`, as JSON with base64url fields) is read or refused, never a panic: the
//! ceremony it names, the credential, and the authenticator model in an attestation object,
//! for answers of any shape and attestation objects of any bytes.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use portico_core::passkeys::{
    assertion_of, authenticator_model, challenge_of, credential_id, registration_of,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = challenge_of(text);
        if let Ok(assertion) = assertion_of(text) {
            let _ = credential_id(&assertion);
        }
        if let Ok(registration) = registration_of(text) {
            let _ = authenticator_model(&registration);
        }
    }
    // The same bytes as an attestation object and as client data.
    let encoded = URL_SAFE_NO_PAD.encode(data);
    let wrapped = serde_json::json!({
        "id": "AA", "rawId": "AA", "type": "public-key",
        "response": {"attestationObject": encoded, "clientDataJSON": encoded},
    })
    .to_string();
    let _ = challenge_of(&wrapped);
    if let Ok(registration) = registration_of(&wrapped) {
        let _ = authenticator_model(&registration);
    }
});
