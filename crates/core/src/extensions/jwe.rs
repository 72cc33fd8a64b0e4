//! The encrypted password context of OnPasswordSubmit: a compact JWE (RFC 7516) to the RSA
//! key registered on the extension, `RSA-OAEP-256` key wrapping and `A256GCM` content
//! encryption, as Entra sends it. The primitives are aws-lc-rs's; only the JOSE framing is
//! here.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::CoreError;

fn failed(what: &str) -> CoreError {
    CoreError::Internal(format!("password context encryption: {what}"))
}

/// The RSA public key of an extension, from a PEM public key (`PUBLIC KEY`) or certificate:
/// its SubjectPublicKeyInfo DER, checked to be an RSA key that can encrypt (2048 bits or more).
pub fn encryption_key_der(pem: &str) -> Result<Vec<u8>, CoreError> {
    let invalid = |why: &str| CoreError::Invalid(format!("encryption key: {why}"));
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|_| invalid("not PEM (a PUBLIC KEY or a CERTIFICATE)"))?;
    let spki = match block.label.as_str() {
        "PUBLIC KEY" => block.contents.clone(),
        "CERTIFICATE" => {
            let (_, cert) = x509_parser::parse_x509_certificate(&block.contents)
                .map_err(|_| invalid("unreadable X.509"))?;
            cert.public_key().raw.to_vec()
        }
        _ => return Err(invalid("not a PUBLIC KEY or a CERTIFICATE")),
    };
    let key = PublicEncryptingKey::from_der(&spki)
        .map_err(|_| invalid("not an RSA key of 2048 bits or more"))?;
    if key.key_size_bits() < 2048 {
        return Err(invalid("not an RSA key of 2048 bits or more"));
    }
    Ok(spki)
}

/// Encrypts `plaintext` to the RSA key `spki_der`, as a compact JWE.
pub fn encrypt(spki_der: &[u8], kid: &str, plaintext: &[u8]) -> Result<String, CoreError> {
    let header = serde_json::json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid});
    let header = B64.encode(header.to_string());
    let mut cek = [0u8; 32];
    aws_lc_rs::rand::fill(&mut cek).map_err(|_| failed("rng"))?;
    let mut iv = [0u8; 12];
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| failed("rng"))?;
    let public = PublicEncryptingKey::from_der(spki_der).map_err(|_| failed("key"))?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(|_| failed("key"))?;
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let wrapped = oaep
        .encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut wrapped, None)
        .map_err(|_| failed("key wrap"))?;
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| failed("cek"))?);
    let mut body = plaintext.to_vec();
    // The protected header, as encoded, is the additional data (RFC 7516 §5.1 step 14).
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header.as_bytes()),
            &mut body,
        )
        .map_err(|_| failed("seal"))?;
    Ok(format!(
        "{header}.{}.{}.{}.{}",
        B64.encode(wrapped),
        B64.encode(iv),
        B64.encode(&body),
        B64.encode(tag.as_ref())
    ))
}

/// A key id for an encryption key: the base64url SHA-256 of its SubjectPublicKeyInfo.
pub fn key_id(spki_der: &[u8]) -> String {
    B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki_der,
    ))
}
