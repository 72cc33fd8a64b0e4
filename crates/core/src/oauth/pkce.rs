use crate::secret::sha256_b64;

/// Whether a code verifier is well formed (RFC 7636 §4.1: 43-128 unreserved characters).
pub fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether a challenge is well formed: base64url of a SHA-256 digest (43 characters).
pub fn challenge_is_well_formed(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    verifier_is_well_formed(verifier)
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            sha256_b64(verifier.as_bytes()).as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn rfc7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(challenge_is_well_formed(challenge));
        assert!(verify_s256(verifier, challenge));
        assert!(!verify_s256(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            challenge
        ));
        assert!(!verify_s256("short", challenge));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Only the verifier whose digest is the challenge verifies.
        #[test]
        fn s256_accepts_only_the_matching_verifier(verifier in "[A-Za-z0-9._~-]{43,128}", other in "[A-Za-z0-9._~-]{43,128}") {
            let challenge = crate::secret::sha256_b64(verifier.as_bytes());
            prop_assert!(challenge_is_well_formed(&challenge));
            prop_assert!(verify_s256(&verifier, &challenge));
            prop_assert_eq!(verify_s256(&other, &challenge), other == verifier);
        }

        #[test]
        fn arbitrary_input_never_panics(verifier in ".{0,200}", challenge in ".{0,100}") {
            let _ = verify_s256(&verifier, &challenge);
        }
    }
}
