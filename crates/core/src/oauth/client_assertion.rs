//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
//! client signs a short-lived JWT with a key whose public half is registered with the app.
//! The assertion names the client (`iss` = `sub` = client id), is meant for this token
//! endpoint (`aud`), and is used once (`jti`, remembered until it expires).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::{ClientAuthMethod, ClientCredentials, OAuthError};
use crate::directory::{Application, Tenant, allowed_algorithms};
use crate::ids::ClientId;
use crate::{CoreError, Portico};

/// The one assertion type (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: a client makes a fresh one for each request, so a
/// long-lived one is a leaked one waiting to be used.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// The claims checked beyond what `jsonwebtoken` validates.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    jti: String,
    #[serde(deserialize_with = "numeric_date")]
    exp: i64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    iat: Option<i64>,
    aud: serde_json::Value,
}

/// A NumericDate (RFC 7519 §2), which may have a fraction (MSAL for Python sends one), in
/// whole seconds.
fn numeric_date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if !value.is_finite() {
        return Err(serde::de::Error::custom("not a date"));
    }
    // Saturating: absurd dates fail the lifetime checks rather than wrap.
    #[allow(clippy::cast_possible_truncation)]
    Ok(value.floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

fn optional_numeric_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    numeric_date(deserializer).map(Some)
}

/// The client an assertion says it is from, read before its signature is checked only to
/// find the keys to check it with.
fn claimed_client(assertion: &str) -> Option<ClientId> {
    #[derive(Deserialize)]
    struct Sub {
        sub: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Sub>(&bytes).ok()?.sub.parse().ok()
}

impl Portico {
    /// Authenticates a client by its assertion. Every failure is the same `invalid_client`
    /// to the caller (the log says which check failed).
    pub(super) async fn authenticate_assertion(
        &self,
        tenant: &Tenant,
        credentials: &ClientCredentials,
    ) -> Result<(Application, ClientAuthMethod), OAuthError> {
        let refused = |why: &str| {
            tracing::info!(tenant.id = %tenant.id, reason = why, "client assertion refused");
            OAuthError::invalid_client()
        };
        if credentials.assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER_ASSERTION}"
            )));
        }
        let assertion = credentials
            .assertion
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
        let client_id = claimed_client(assertion).ok_or_else(|| refused("no client in sub"))?;
        if credentials
            .form_client_id
            .as_deref()
            .is_some_and(|id| id != client_id.to_string())
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the assertion",
            ));
        }
        let app = self
            .application(tenant.id, client_id)
            .await
            .map_err(CoreError::from)?
            .ok_or_else(|| refused("unknown client"))?;
        let header = decode_header(assertion).map_err(|_| refused("malformed header"))?;
        // The keys the header names, else every key (the signature decides either way).
        let named: Vec<_> = app
            .client_keys
            .iter()
            .filter(|key| crate::directory::names_key(&header, key))
            .collect();
        let candidates = if named.is_empty() {
            app.client_keys.iter().collect()
        } else {
            named
        };
        let audiences = [
            self.issuer(tenant),
            format!(
                "{}/{}/oauth2/v2.0/token",
                self.settings.public_url, tenant.id
            ),
            format!(
                "{}/{}/oauth2/v2.0/token",
                self.settings.public_url, tenant.name
            ),
        ];
        let mut verified = None;
        for key in candidates {
            if !allowed_algorithms(key).contains(&header.alg) {
                continue;
            }
            let Ok(decoding) = DecodingKey::from_jwk(key) else {
                continue;
            };
            let mut validation = Validation::new(header.alg);
            validation.set_audience(&audiences);
            validation.set_issuer(&[client_id.to_string()]);
            validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
            validation.leeway = 30;
            validation.validate_nbf = true;
            if let Ok(data) = decode::<AssertionClaims>(assertion, &decoding, &validation) {
                verified = Some(data.claims);
                break;
            }
        }
        let claims = verified.ok_or_else(|| refused("no registered key verifies it"))?;
        let now = self.now();
        // One audience only: an assertion naming several servers could be replayed at each
        // (the audience-injection concern of RFC 7523's update).
        let single_audience = match &claims.aud {
            serde_json::Value::String(_) => true,
            serde_json::Value::Array(list) => list.len() == 1,
            _ => false,
        };
        // Lifetime from now (or from an earlier iat), without overflow whatever the numbers.
        let from = claims.iat.map_or(now, |iat| iat.min(now)).max(now - 3600);
        if claims.sub != claims.iss
            || !single_audience
            || claims.jti.is_empty()
            || claims.jti.len() > 256
            || claims.iat.is_some_and(|iat| iat > now.saturating_add(60))
            || claims.exp.saturating_sub(from) > MAX_ASSERTION_LIFETIME_SECS
        {
            return Err(refused("wrong sub, audience, jti or lifetime"));
        }
        let first_use = self
            .store
            .record_client_assertion(
                tenant.id,
                client_id,
                &claims.jti,
                claims.exp.saturating_add(60),
            )
            .await
            .map_err(CoreError::from)?;
        if !first_use {
            return Err(refused("replayed jti"));
        }
        Ok((app, ClientAuthMethod::PrivateKeyJwt))
    }
}
