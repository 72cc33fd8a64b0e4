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

/// The public key of an X.509 certificate (PEM) as a JWK, for clients that authenticate
/// with a certificate (MSAL's certificate credentials): RSA, EC (P-256, P-384) or Ed25519.
/// The JWK carries the certificate's thumbprints (`x5t`, `x5t#S256`, which assertion headers
/// name the key by) and the certificate itself (`x5c`). Only the key is used: the certificate
/// is not a trust anchor, its registration is.
pub fn certificate_key(pem: &str) -> Result<Jwk, CoreError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
    use x509_parser::public_key::PublicKey;

    let invalid = |why: &str| CoreError::Invalid(format!("certificate: {why}"));
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|_| invalid("not a PEM certificate"))?;
    if pem.label != "CERTIFICATE" {
        return Err(invalid("not a PEM certificate"));
    }
    let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents)
        .map_err(|_| invalid("unreadable X.509"))?;
    let spki = cert.public_key();
    let trimmed = |bytes: &[u8]| {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        B64.encode(bytes.get(start..).unwrap_or_default())
    };
    let mut jwk = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => serde_json::json!({
            "kty": "RSA", "n": trimmed(rsa.modulus), "e": trimmed(rsa.exponent),
        }),
        Ok(PublicKey::EC(point)) => {
            let bytes = point.data();
            let (crv, half) = match bytes.len() {
                65 => ("P-256", 32),
                97 => ("P-384", 48),
                _ => return Err(invalid("only P-256 and P-384 EC keys")),
            };
            if bytes.first() != Some(&4) {
                return Err(invalid("compressed EC points are not supported"));
            }
            let x = bytes.get(1..=half).unwrap_or_default();
            let y = bytes.get(half + 1..).unwrap_or_default();
            serde_json::json!({"kty": "EC", "crv": crv, "x": B64.encode(x), "y": B64.encode(y)})
        }
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": B64.encode(&spki.subject_public_key.data),
        }),
        _ => return Err(invalid("only RSA, EC (P-256, P-384) and Ed25519 keys")),
    };
    let sha1 =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &pem.contents);
    let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pem.contents);
    if let Some(map) = jwk.as_object_mut() {
        map.insert("x5t".into(), B64.encode(sha1).into());
        map.insert("x5t#S256".into(), B64.encode(sha256).into());
        map.insert(
            "x5c".into(),
            serde_json::json!([STANDARD.encode(&pem.contents)]),
        );
    }
    let mut keys = parse_client_keys(&jwk.to_string())?;
    keys.pop().ok_or_else(|| invalid("no key"))
}

/// Whether `key` is the one an assertion header names: by `kid`, or by the thumbprint of
/// the certificate it came from (`x5t`, `x5t#S256`, as MSAL's certificate assertions send).
pub fn names_key(header: &jsonwebtoken::Header, key: &Jwk) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    // Thumbprints are base64url, but some clients (MSAL for Python) send them padded
    // standard base64: compare the bytes.
    let same_print = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => thumbprint(a).is_some_and(|a| Some(a) == thumbprint(b)),
        _ => false,
    };
    same(&header.kid, &key.common.key_id)
        || same_print(&header.x5t, &key.common.x509_sha1_fingerprint)
        || same_print(&header.x5t_s256, &key.common.x509_sha256_fingerprint)
}

fn thumbprint(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let normal: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(normal)
        .ok()
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
    fn keys_are_named_by_kid_or_by_thumbprint_in_either_base64() {
        let mut key = parse_client_keys(RSA).unwrap().remove(0);
        key.common.x509_sha1_fingerprint = Some("q6urq6urq6urq6urq6urq6urq6s".into());
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        assert!(!names_key(&header, &key), "names nothing");
        header.kid = Some("k1".into());
        assert!(names_key(&header, &key));
        header.kid = None;
        header.x5t = Some("q6urq6urq6urq6urq6urq6urq6s=".into());
        assert!(
            names_key(&header, &key),
            "padded standard base64, as MSAL sends it"
        );
        header.x5t = Some("AAAAq6urq6urq6urq6urq6urq6s".into());
        assert!(!names_key(&header, &key));
        assert!(
            certificate_key("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----")
                .is_err()
        );
        assert!(certificate_key(RSA).is_err(), "a JWK is not a certificate");
    }

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
