use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::{KeyError, SigningKey};

/// The protected header Portico writes on every JWS.
#[derive(Debug, Serialize)]
pub struct JwsHeader<'a> {
    /// Media type of the complete JWS: `JWT`, or `at+jwt` for RFC 9068 access tokens.
    pub typ: &'a str,
    /// Signing algorithm.
    pub alg: &'a str,
    /// Id of the signing key in the tenant's JWKS.
    pub kid: &'a str,
}

/// Serialises `claims` and signs them as a compact JWS with `key`.
///
/// The header's `alg` and `kid` always come from the key, so a caller cannot mislabel a token.
pub fn encode_jws<C: Serialize>(
    key: &SigningKey,
    typ: &str,
    claims: &C,
) -> Result<String, KeyError> {
    let header = JwsHeader {
        typ,
        alg: key.algorithm().as_str(),
        kid: key.kid(),
    };
    let header_json = serde_json::to_vec(&header)?;
    let claims_json = serde_json::to_vec(claims)?;
    let mut token = String::with_capacity(
        (header_json.len() + claims_json.len()) * 4 / 3 + key.signature_len() * 4 / 3 + 8,
    );
    URL_SAFE_NO_PAD.encode_string(&header_json, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    Ok(token)
}
