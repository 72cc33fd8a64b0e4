//! What a receiver built with portico-claims reads from outside: request bodies of any shape
//! and password contexts (JWE) of any shape are read or refused, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portico_claims::{DecryptionKey, parse_event};

/// One RSA key for every run (generating one per input would be all the fuzzer measured).
fn key() -> &'static DecryptionKey {
    static KEY: OnceLock<DecryptionKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use aws_lc_rs::encoding::AsDer;
        let private = aws_lc_rs::rsa::PrivateDecryptingKey::generate(
            aws_lc_rs::rsa::KeySize::Rsa2048,
        )
        .expect("key generation");
        let pkcs8 = private.as_der().expect("pkcs8");
        DecryptionKey::from_pkcs8(pkcs8.as_ref()).expect("a PKCS#8 key")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_event(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key().decrypt(text);
    }
});
