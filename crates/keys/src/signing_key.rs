use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Jwk, KeyError, SigningAlgorithm};

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A parsed signing key pair, ready to sign without further parsing.
pub struct SigningKey {
    algorithm: SigningAlgorithm,
    kid: String,
    pair: Pair,
    jwk: Jwk,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key pair and returns it with its PKCS#8 encoding (to be sealed and stored).
    pub fn generate(algorithm: SigningAlgorithm) -> Result<(Self, Vec<u8>), KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            SigningAlgorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| pair.as_der())
                .map(|der| der.as_ref().to_vec()),
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map(|doc| doc.as_ref().to_vec())
            }
            SigningAlgorithm::EdDsa => {
                Ed25519KeyPair::generate_pkcs8(&rng).map(|doc| doc.as_ref().to_vec())
            }
        }
        .map_err(|_| KeyError::Generation)?;
        let key = Self::from_pkcs8(algorithm, &pkcs8)?;
        Ok((key, pkcs8))
    }

    /// Parses a PKCS#8 private key of the given algorithm.
    pub fn from_pkcs8(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let invalid = |_| KeyError::InvalidKey(algorithm.as_str());
        let (pair, jwk_parts) = match algorithm {
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(invalid)?;
                let public = pair.public_key();
                let n = b64(public.modulus().big_endian_without_leading_zero());
                let e = b64(public.exponent().big_endian_without_leading_zero());
                (Pair::Rsa(pair), JwkParts::Rsa { n, e })
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(invalid)?;
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let point = pair.public_key().as_ref();
                let (x, y) = match point {
                    [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
                    _ => return Err(KeyError::InvalidKey("ES256")),
                };
                let (x, y) = (b64(x), b64(y));
                (Pair::Ecdsa(pair), JwkParts::Ec { x, y })
            }
            SigningAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
                    .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
                    .map_err(invalid)?;
                let x = b64(pair.public_key().as_ref());
                (Pair::Ed25519(pair), JwkParts::Okp { x })
            }
        };
        let kid = jwk_parts.thumbprint();
        let jwk = jwk_parts.into_jwk(algorithm, kid.clone());
        Ok(Self {
            algorithm,
            kid,
            pair,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    /// The JWS algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key id: RFC 7638 JWK thumbprint (SHA-256, base64url).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Length of a signature in bytes.
    pub fn signature_len(&self) -> usize {
        match &self.pair {
            Pair::Rsa(pair) => pair.public_modulus_len(),
            Pair::Ecdsa(_) => 64,
            Pair::Ed25519(_) => 64,
        }
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(|_| KeyError::Signing)?;
                Ok(signature)
            }
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::Signing),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

enum JwkParts {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
    Okp { x: String },
}

impl JwkParts {
    /// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            Self::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            Self::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    fn into_jwk(self, algorithm: SigningAlgorithm, kid: String) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            use_: "sig".to_owned(),
            alg: algorithm.as_str().to_owned(),
            kid,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        match self {
            Self::Rsa { n, e } => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(n);
                jwk.e = Some(e);
            }
            Self::Ec { x, y } => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(x);
                jwk.y = Some(y);
            }
            Self::Okp { x } => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(x);
            }
        }
        jwk
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::encode_jws;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, jwk::Jwk as JtJwk};

    /// Tokens we sign must verify with an independent JOSE library from the published JWK alone.
    #[test]
    fn signatures_verify_with_jsonwebtoken_from_the_public_jwk() {
        for (alg, jt_alg) in [
            (SigningAlgorithm::Rs256, Algorithm::RS256),
            (SigningAlgorithm::Es256, Algorithm::ES256),
            (SigningAlgorithm::EdDsa, Algorithm::EdDSA),
        ] {
            let (key, pkcs8) = SigningKey::generate(alg).unwrap();
            let reparsed = SigningKey::from_pkcs8(alg, &pkcs8).unwrap();
            assert_eq!(reparsed.kid(), key.kid(), "kid is stable across re-parsing");
            let claims = serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64});
            let token = encode_jws(&key, "JWT", &claims).unwrap();
            let jwk_json = serde_json::to_value(key.public_jwk()).unwrap();
            let jwk: JtJwk = serde_json::from_value(jwk_json).unwrap();
            let decoding = DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = Validation::new(jt_alg);
            validation.validate_aud = false;
            let data = decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
            assert_eq!(data.claims["sub"], "alice");
            assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
        }
    }

    #[test]
    fn rejects_garbage_key_material() {
        assert!(SigningKey::from_pkcs8(SigningAlgorithm::Rs256, b"nope").is_err());
        let (_, ec) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
        assert!(SigningKey::from_pkcs8(SigningAlgorithm::Rs256, &ec).is_err());
    }
}
