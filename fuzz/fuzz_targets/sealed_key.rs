//! Sealed key blobs read back from the store (a tampered database must not crash Portico).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = portico_keys::MasterKey::from_bytes(&[9u8; 32]) {
        let _ = key.open("kid", data);
    }
    let _ = portico_keys::SigningKey::from_pkcs8(portico_keys::SigningAlgorithm::Es256, data);
});
