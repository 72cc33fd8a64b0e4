use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::KeyError;

/// Format tag of sealed blobs, so the layout can change later without guessing.
const SEALED_V1: u8 = 1;

/// The key that encrypts signing keys (and other secrets) at rest.
///
/// Sealed blobs are `0x01 || nonce (12) || AES-256-GCM ciphertext+tag`, with the caller's
/// context (the key id) as associated data, so a sealed key cannot be swapped for another row's.
pub struct MasterKey {
    key: RandomizedNonceKey,
    derivation: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Builds a master key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::InvalidMasterKey);
        }
        let key =
            RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| KeyError::InvalidMasterKey)?;
        let derivation = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes);
        Ok(Self { key, derivation })
    }

    /// Parses a master key written as base64 (standard or URL-safe, padding optional).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(text))
            .map_err(|_| KeyError::InvalidMasterKey)?;
        Self::from_bytes(&bytes)
    }

    /// Makes a fresh random master key and returns it with its base64url text form.
    pub fn generate() -> Result<(Self, String), KeyError> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KeyError::Generation)?;
        let text = URL_SAFE_NO_PAD.encode(bytes);
        Ok((Self::from_bytes(&bytes)?, text))
    }

    /// Derives a 32-byte subkey for one purpose (`label`), so the master key itself is used
    /// only for sealing.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.derivation, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts `plaintext`, binding it to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| KeyError::Signing)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(SEALED_V1);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Decrypts a blob made by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let (version, rest) = sealed.split_first().ok_or(KeyError::Unseal)?;
        if *version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| KeyError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let (key, text) = MasterKey::generate().unwrap();
        let sealed = key.seal("kid-1", b"secret").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"secret");
        assert!(key.open("kid-2", &sealed).is_err(), "context must bind");
        let again = MasterKey::from_base64(&text).unwrap();
        assert_eq!(again.open("kid-1", &sealed).unwrap(), b"secret");
        let (other, _) = MasterKey::generate().unwrap();
        assert!(other.open("kid-1", &sealed).is_err(), "wrong key must fail");
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(key.open("kid-1", &tampered).is_err());
        assert!(key.open("kid-1", &[]).is_err());
        assert!(key.open("kid-1", &[1, 2, 3]).is_err());
    }

    #[test]
    fn rejects_short_master_keys() {
        assert!(MasterKey::from_base64("c2hvcnQ").is_err());
        assert!(MasterKey::from_base64("not base64 at all!").is_err());
    }
}

#[cfg(test)]
mod properties {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::MasterKey;

    proptest! {
        /// Sealing round-trips; any other blob (truncated, flipped, random) fails cleanly.
        #[test]
        fn open_rejects_everything_but_what_was_sealed(plain in proptest::collection::vec(any::<u8>(), 0..256),
                                                       junk in proptest::collection::vec(any::<u8>(), 0..300),
                                                       flip in any::<usize>()) {
            let key = MasterKey::from_bytes(&[7u8; 32]).unwrap();
            let sealed = key.seal("ctx", &plain).unwrap();
            prop_assert_eq!(key.open("ctx", &sealed).unwrap(), plain);
            let _ = key.open("ctx", &junk);
            let mut tampered = sealed.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert!(key.open("ctx", &tampered).is_err());
            prop_assert!(key.open("ctx", &sealed[..sealed.len() - 1]).is_err());
        }
    }
}
