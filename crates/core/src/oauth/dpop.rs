//! DPoP (RFC 9449): a client proves, with each request, that it holds a private key, and the
//! tokens it gets are bound to that key (`cnf.jkt`), so a stolen token is worthless without
//! the key. A proof is a JWT the client signs for one request: `typ` `dpop+jwt`, the public
//! key in the header, the request's method and URI (`htm`, `htu`), a fresh `iat` and a unique
//! `jti`; at a resource, also the access token's hash (`ath`). The token endpoint also wants
//! a nonce Portico chose (§8), so a proof cannot be made ahead of time.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Validation, decode, decode_header};
use serde::Deserialize;

use super::{OAuthError, OAuthErrorCode};
use crate::directory::{Tenant, allowed_algorithms};
use crate::{CoreError, Portico};

/// The JWT `typ` of a proof (§4.2).
pub const DPOP_PROOF_TYP: &str = "dpop+jwt";
/// The algorithms a proof may be signed with (asymmetric only; `dpop_signing_alg_values_supported`).
pub const DPOP_ALGORITHMS: &[&str] = &[
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
];
/// How old (or, for clock skew, how far ahead) a proof's `iat` may be: a proof is made for
/// one request, moments before it is sent.
const PROOF_AGE_SECS: i64 = 60;
/// A server nonce is good for its window and the one after (2 to 4 minutes in all).
const NONCE_WINDOW_SECS: i64 = 120;
/// The longest `jti` kept (a UUID or 32 random bytes are far shorter).
const MAX_JTI_LEN: usize = 256;

/// A proof as the front door received it, with the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header.
    pub proof: &'a str,
    /// The request's method.
    pub method: &'a str,
    /// The request's URI as the client addressed it (Portico's public URL and the path).
    pub uri: &'a str,
}

/// Where a proof is presented, which decides what it must carry.
#[derive(Debug, Clone, Copy)]
pub enum DpopUse<'a> {
    /// The token endpoint (or PAR): a server nonce is required.
    TokenRequest,
    /// A protected resource (userinfo): the proof names the access token (`ath`).
    Resource {
        /// The access token presented with it.
        access_token: &'a str,
    },
}

/// The key a valid proof was signed with (its RFC 7638 SHA-256 thumbprint, `jkt`), and the
/// proof's `jti`, which [`Portico::spend_dpop_proof`] records once the caller is known, so
/// nobody unauthenticated can make Portico write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopKey {
    jkt: String,
    jti: String,
    expires_at: i64,
}

impl DpopKey {
    /// The key's thumbprint (`cnf.jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }
}

#[derive(Debug, Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: f64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// `invalid_dpop_proof` with a description.
pub(super) fn invalid_proof(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidDpopProof, description)
}

/// The URI a proof's `htu` is compared by (§4.3: scheme and host case-insensitive, the
/// default port implied, without query and fragment).
fn comparable_uri(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The public key in a proof's header, refused if it holds private or symmetric material.
fn header_key(proof: &str) -> Result<Jwk, OAuthError> {
    let malformed = || invalid_proof("the DPoP proof is not a JWT");
    let header = proof.split('.').next().ok_or_else(malformed)?;
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(malformed)?;
    let jwk = header
        .get("jwk")
        .ok_or_else(|| invalid_proof("the DPoP proof has no jwk header"))?;
    if jwk.get("d").is_some() || jwk.get("k").is_some() {
        return Err(invalid_proof(
            "the DPoP proof's jwk must be a public key (it holds private or symmetric material)",
        ));
    }
    serde_json::from_value(jwk.clone())
        .map_err(|_| invalid_proof("the DPoP proof's jwk is not a usable public key"))
}

/// What a proof's header says, checked before its signature (§4.3 items 2 to 6): typ
/// `dpop+jwt`, an asymmetric algorithm that fits the key, a public key. Returns the header
/// and the key to verify the signature with.
pub fn proof_key(proof: &str) -> Result<(jsonwebtoken::Header, Jwk), OAuthError> {
    let jwk = header_key(proof)?;
    let header =
        decode_header(proof).map_err(|_| invalid_proof("the DPoP proof's header is unreadable"))?;
    if header.typ.as_deref() != Some(DPOP_PROOF_TYP) {
        return Err(invalid_proof("the DPoP proof's typ must be dpop+jwt"));
    }
    if !allowed_algorithms(&jwk).contains(&header.alg) {
        return Err(invalid_proof(
            "the DPoP proof's algorithm does not fit its key (asymmetric algorithms only)",
        ));
    }
    Ok((header, jwk))
}

impl Portico {
    /// A nonce for DPoP proofs to this tenant's token endpoint (`DPoP-Nonce`): the current
    /// time window, authenticated, so nothing is stored and every node accepts it.
    pub fn dpop_nonce(&self, tenant: &Tenant) -> String {
        self.nonce_for_window(tenant, self.now().div_euclid(NONCE_WINDOW_SECS))
    }

    fn nonce_for_window(&self, tenant: &Tenant, window: i64) -> String {
        let tag = hmac::sign(
            &self.dpop_nonce_key,
            format!("{}:{window}", tenant.id).as_bytes(),
        );
        let mut bytes = window.to_be_bytes().to_vec();
        bytes.extend_from_slice(tag.as_ref().get(..16).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn nonce_is_fresh(&self, tenant: &Tenant, nonce: &str) -> bool {
        let current = self.now().div_euclid(NONCE_WINDOW_SECS);
        [current, current - 1].into_iter().any(|window| {
            let expected = self.nonce_for_window(tenant, window);
            crate::secret::constant_time_eq(expected.as_bytes(), nonce.as_bytes())
        })
    }

    /// Checks a DPoP proof (§4.3) and spends it ([`Self::verify_dpop_proof`], then
    /// [`Self::spend_dpop_proof`]), for callers that already know who is asking.
    pub async fn check_dpop_proof(
        &self,
        tenant: &Tenant,
        request: DpopRequest<'_>,
        used: DpopUse<'_>,
    ) -> Result<DpopKey, OAuthError> {
        let key = self.verify_dpop_proof(tenant, request, used)?;
        self.spend_dpop_proof(tenant, &key).await?;
        Ok(key)
    }

    /// Records a verified proof's `jti` for its key; a proof is good for one request, so a
    /// second use is refused. Remembered as long as its `iat` would pass.
    pub async fn spend_dpop_proof(&self, tenant: &Tenant, key: &DpopKey) -> Result<(), OAuthError> {
        let first_use = self
            .store
            .record_dpop_proof(tenant.id, &key.jkt, &key.jti, key.expires_at)
            .await
            .map_err(CoreError::from)?;
        if first_use {
            Ok(())
        } else {
            Err(invalid_proof("the DPoP proof was used before (jti)"))
        }
    }

    /// Checks a DPoP proof (§4.3) without writing anything, and returns the key it was made
    /// with; it still has to be spent.
    pub fn verify_dpop_proof(
        &self,
        tenant: &Tenant,
        request: DpopRequest<'_>,
        used: DpopUse<'_>,
    ) -> Result<DpopKey, OAuthError> {
        let (header, jwk) = proof_key(request.proof)?;
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)
            .map_err(|_| invalid_proof("the DPoP proof's jwk is not a usable public key"))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        let claims = decode::<ProofClaims>(request.proof, &key, &validation)
            .map_err(|_| invalid_proof("the DPoP proof's signature or claims are invalid"))?
            .claims;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(invalid_proof("the DPoP proof needs a jti"));
        }
        if !claims.htm.eq_ignore_ascii_case(request.method) {
            return Err(invalid_proof("the DPoP proof is for another HTTP method"));
        }
        if comparable_uri(&claims.htu).is_none()
            || comparable_uri(&claims.htu) != comparable_uri(request.uri)
        {
            return Err(invalid_proof("the DPoP proof is for another URI (htu)"));
        }
        let now = self.now();
        if !claims.iat.is_finite() || (claims.iat - now as f64).abs() > PROOF_AGE_SECS as f64 {
            return Err(invalid_proof(
                "the DPoP proof is too old or from the future (iat)",
            ));
        }
        match used {
            DpopUse::TokenRequest => {
                let fresh = claims
                    .nonce
                    .as_deref()
                    .is_some_and(|nonce| self.nonce_is_fresh(tenant, nonce));
                if !fresh {
                    return Err(OAuthError::new(
                        OAuthErrorCode::UseDpopNonce,
                        "the DPoP proof must carry the nonce from the DPoP-Nonce header",
                    ));
                }
            }
            DpopUse::Resource { access_token } => {
                let expected = crate::secret::sha256_b64(access_token.as_bytes());
                let matches = claims.ath.as_deref().is_some_and(|ath| {
                    crate::secret::constant_time_eq(ath.as_bytes(), expected.as_bytes())
                });
                if !matches {
                    return Err(invalid_proof(
                        "the DPoP proof does not name this access token (ath)",
                    ));
                }
            }
        }
        let jkt = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid_proof("the DPoP proof's jwk has no thumbprint"))?;
        Ok(DpopKey {
            jkt,
            jti: claims.jti,
            expires_at: now + 2 * PROOF_AGE_SECS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_compare_without_query_fragment_or_default_port() {
        assert_eq!(
            comparable_uri("HTTPS://Login.Example:443/t/oauth2/v2.0/token?x=1#y"),
            comparable_uri("https://login.example/t/oauth2/v2.0/token")
        );
        assert_ne!(
            comparable_uri("https://login.example/t/oauth2/v2.0/token"),
            comparable_uri("https://login.example/t/oauth2/v2.0/token2")
        );
        assert!(comparable_uri("not a uri").is_none());
    }

    #[test]
    fn header_keys_must_be_public() {
        let header = |jwk: &str| {
            format!(
                "{}.e30.sig",
                URL_SAFE_NO_PAD
                    .encode(format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#))
            )
        };
        let public = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert!(header_key(&header(public)).is_ok());
        let private = public.replace(r#""kty""#, r#""d":"c2VjcmV0","kty""#);
        assert!(header_key(&header(&private)).is_err());
        assert!(header_key(&header(r#"{"kty":"oct","k":"c2VjcmV0"}"#)).is_err());
        assert!(header_key("no-dots").is_err());
    }

    proptest::proptest! {
        /// Whatever arrives in a DPoP header, reading it never panics, and nothing read is
        /// an HMAC proof or one without a public key.
        #[test]
        fn any_header_reads_safely(header in ".{0,300}", rest in ".{0,40}") {
            let proof = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.as_bytes()));
            if let Ok((header, jwk)) = proof_key(&proof) {
                let hmac = format!("{:?}", header.alg).starts_with("HS");
                proptest::prop_assert!(!hmac);
                proptest::prop_assert!(!allowed_algorithms(&jwk).is_empty());
            }
            let _ = comparable_uri(&rest);
        }
    }
}
