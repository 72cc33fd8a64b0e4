//! Random secrets Portico hands out (client secrets, codes, refresh tokens, session cookies,
//! admin tokens) and how they are kept at rest.
//!
//! These are 256-bit random values, so a fast digest is the right protection at rest: there is
//! nothing to brute-force, and verification stays cheap on hot paths (slow hashing is for human
//! passwords only, see [`crate::password`]).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::CoreError;

/// A fresh 256-bit random value, base64url without padding (43 characters).
pub fn random_token() -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CoreError::Internal("rng failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The at-rest form of a generated secret: base64url(SHA-256(secret)).
pub fn digest_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

/// Whether `presented` is the secret whose digest is `stored`, compared in constant time.
pub fn secret_matches(presented: &str, stored_digest: &str) -> bool {
    let presented = digest_secret(presented);
    aws_lc_rs::constant_time::verify_slices_are_equal(
        presented.as_bytes(),
        stored_digest.as_bytes(),
    )
    .is_ok()
}

/// Whether two byte strings are equal, compared in constant time (for values an attacker
/// may probe byte by byte: nonces, token hashes).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// base64url(SHA-256(input)) of arbitrary text, for values that are not secret but must be
/// derived stably (pairwise subjects, PKCE S256 challenges).
pub fn sha256_b64(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, input))
}

/// OpenID Connect's `at_hash` / `c_hash` (Core §3.1.3.6, §3.3.2.11): base64url of the left
/// half of the hash of `value`, with the hash of the ID token's signing algorithm (SHA-256 for
/// RS256 and ES256; SHA-512 for EdDSA, as the OpenID Foundation settled for Ed25519).
pub fn left_half_hash(value: &str, alg: portico_keys::SigningAlgorithm) -> String {
    let algorithm = match alg {
        portico_keys::SigningAlgorithm::EdDsa => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(bytes.get(..bytes.len() / 2).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn digests_verify_only_the_right_secret() {
        let secret = random_token().unwrap();
        let stored = digest_secret(&secret);
        assert!(secret_matches(&secret, &stored));
        assert!(!secret_matches("wrong", &stored));
        assert!(!secret_matches(&secret, ""));
    }
}
