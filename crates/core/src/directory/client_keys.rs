//! Public keys a confidential client signs its assertions with (`private_key_jwt`, RFC 7523):
//! what an operator may register, and which signing algorithm each key allows.

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};

use crate::CoreError;

/// A registered public key (a JWK).
pub type ClientKey = Jwk;

/// The most keys one application may hold (enough to rotate).
pub const MAX_CLIENT_KEYS: usize = 10;

/// Reads a JWK, or a JWK Set (`{"keys": [...]}`), of public signing keys: RSA, EC (P-256,
/// P-384) or Ed25519. Private keys (a `d` member) and symmetric keys are refused: the first
/// should never leave the client, and the second would let anyone who reads the registration
/// sign as the client.
pub fn parse_client_keys(text: &str) -> Result<Vec<Jwk>, CoreError> {
    let invalid = |why: &str| CoreError::Invalid(format!("client keys: {why}"));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| invalid("not a JSON JWK or JWK Set"))?;
    let raw: Vec<serde_json::Value> = match value.get("keys") {
        Some(serde_json::Value::Array(keys)) => keys.clone(),
        Some(_) => return Err(invalid("\"keys\" must be an array")),
        None => vec![value],
    };
    if raw.is_empty() || raw.len() > MAX_CLIENT_KEYS {
        return Err(invalid(&format!("give 1 to {MAX_CLIENT_KEYS} keys")));
    }
    raw.into_iter()
        .map(|key| {
            if key.get("d").is_some() || key.get("k").is_some() {
                return Err(invalid(
                    "register the public key only (this one holds private or symmetric material)",
                ));
            }
            let jwk: Jwk = serde_json::from_value(key).map_err(|_| invalid("unreadable JWK"))?;
            if allowed_algorithms(&jwk).is_empty() {
                return Err(invalid(
                    "only RSA, EC (P-256, P-384) and Ed25519 public keys",
                ));
            }
            jsonwebtoken::DecodingKey::from_jwk(&jwk)
                .map_err(|_| invalid("the key's parameters are not a usable public key"))?;
            Ok(jwk)
        })
        .collect()
}

/// The signing algorithms an assertion signed with `key` may use: the key's own `alg` if
/// it names one, else every asymmetric algorithm of its type. Never HMAC.
pub fn allowed_algorithms(key: &Jwk) -> Vec<Algorithm> {
    let family: &[Algorithm] = match &key.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            jsonwebtoken::jwk::EllipticCurve::P256 => &[Algorithm::ES256],
            jsonwebtoken::jwk::EllipticCurve::P384 => &[Algorithm::ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(params) => match params.curve {
            jsonwebtoken::jwk::EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => &[],
        },
        _ => &[],
    };
    // The JWK's `alg` name, read as a signing algorithm (names that are not one allow nothing).
    let named = key.common.key_algorithm.map(|a| {
        serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_str().and_then(|n| n.parse::<Algorithm>().ok()))
    });
    match named {
        Some(None) => Vec::new(),
        Some(Some(alg)) if family.contains(&alg) => vec![alg],
        Some(Some(_)) => Vec::new(),
        None => family.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"kty":"RSA","kid":"k1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;

    #[test]
    fn public_keys_pass_and_private_or_symmetric_ones_do_not() {
        let keys = parse_client_keys(RSA).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(allowed_algorithms(&keys[0]).contains(&Algorithm::PS256));
        let set = format!(r#"{{"keys":[{RSA}]}}"#);
        assert_eq!(parse_client_keys(&set).unwrap().len(), 1);
        let private = RSA.replace(r#""e":"AQAB""#, r#""e":"AQAB","d":"c2VjcmV0""#);
        assert!(parse_client_keys(&private).is_err());
        assert!(parse_client_keys(r#"{"kty":"oct","k":"c2VjcmV0"}"#).is_err());
        assert!(parse_client_keys(r#"{"keys":[]}"#).is_err());
        assert!(parse_client_keys("not json").is_err());
        // An RSA key that claims an EC algorithm allows nothing.
        let odd = RSA.replace(r#""kid":"k1""#, r#""kid":"k1","alg":"ES256""#);
        assert!(parse_client_keys(&odd).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{allowed_algorithms, parse_client_keys};

    proptest! {
        /// Any text either fails cleanly or gives keys that allow only asymmetric algorithms.
        #[test]
        fn parsing_never_panics_and_never_allows_hmac(text in ".{0,400}", kty in "(RSA|EC|OKP|oct)") {
            for input in [text.clone(), format!(r#"{{"kty":"{kty}","x":"{text}","n":"{text}","e":"AQAB","crv":"P-256","y":"{text}"}}"#)] {
                if let Ok(keys) = parse_client_keys(&input) {
                    for key in &keys {
                        let asymmetric = allowed_algorithms(key)
                            .iter()
                            .all(|alg| !format!("{alg:?}").starts_with("HS"));
                        prop_assert!(asymmetric);
                    }
                }
            }
        }
    }
}
