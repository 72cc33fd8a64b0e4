//! The callout token: signed by a trusted issuer (keys from its OpenID discovery, cached per
//! instance and fetched again for an unknown `kid`), for this receiver (`aud`), from the
//! authentication-events app (`azp` in v2.0 tokens, `appid` in v1.0), in its lifetime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

/// Entra's authentication-events app: the `azp` of its (and Portico's) callout tokens.
pub const ENTRA_AUTHENTICATION_EVENTS_APP: &str = "99045fe1-7639-4a75-9d4a-577b6ca3810f";
/// How long fetched keys are used before they are fetched again.
const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The least time between two fetches for one issuer (an unknown `kid` cannot make the
/// receiver hammer its issuer).
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// An issuer whose tokens this receiver accepts.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// `iss`, exactly (e.g. `https://id.example.com/{tenant}/v2.0`).
    pub issuer: String,
    /// The `aud` this receiver's tokens carry (the extension's resource app id).
    pub audience: String,
    /// Where the discovery document is; default `{issuer}/.well-known/openid-configuration`.
    pub metadata_url: Option<String>,
}

impl TrustedIssuer {
    /// Tokens from `issuer` for `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            metadata_url: None,
        }
    }

    fn metadata_url(&self) -> String {
        self.metadata_url.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            )
        })
    }
}

/// Why a token was refused (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CalloutToken {
    /// Issuer.
    pub iss: String,
    /// Audience.
    #[serde(default)]
    pub aud: serde_json::Value,
    /// The calling app (v2.0).
    #[serde(default)]
    pub azp: Option<String>,
    /// The calling app (v1.0).
    #[serde(default)]
    pub appid: Option<String>,
    /// Token version, `1.0` or `2.0`.
    #[serde(default)]
    pub ver: Option<String>,
    /// Tenant.
    #[serde(default)]
    pub tid: Option<String>,
}

#[derive(Debug)]
struct Keys {
    set: JwkSet,
    fetched: Instant,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

/// Validates callout tokens for a set of issuers.
#[derive(Debug, Clone)]
pub struct TokenValidator {
    issuers: Vec<TrustedIssuer>,
    authorized_parties: Vec<String>,
    clock_skew: Duration,
    http: reqwest::Client,
    keys: Arc<RwLock<HashMap<String, Keys>>>,
    /// When each issuer's keys were last fetched, or tried: one fetch at a time, and at most
    /// one per issuer every few seconds whatever unknown `kid`s (unsigned requests) ask for.
    fetches: Arc<tokio::sync::Mutex<HashMap<String, Instant>>>,
}

impl TokenValidator {
    /// A validator for `issuers`, accepting Entra's authentication-events app as `azp`.
    pub fn new(issuers: Vec<TrustedIssuer>) -> Self {
        Self {
            issuers,
            authorized_parties: vec![ENTRA_AUTHENTICATION_EVENTS_APP.to_owned()],
            clock_skew: Duration::from_secs(300),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            keys: Arc::default(),
            fetches: Arc::default(),
        }
    }

    /// Accept these calling apps (`azp`/`appid`) instead of Entra's.
    pub fn authorized_parties(mut self, parties: Vec<String>) -> Self {
        self.authorized_parties = parties;
        self
    }

    /// Tolerate this much clock difference on `exp` and `nbf` (default 5 minutes).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Checks an `Authorization` header's bearer token.
    pub async fn validate(
        &self,
        authorization: Option<&str>,
    ) -> Result<CalloutToken, InvalidToken> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| InvalidToken("no bearer token".into()))?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| InvalidToken(format!("not a JWT: {e}")))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(InvalidToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| InvalidToken("the token names no key".into()))?;
        // The issuer is read before the signature is checked only to choose whose keys
        // check it; it is checked again, signed, below.
        let unverified: CalloutToken = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|e| InvalidToken(format!("unreadable claims: {e}")))?;
        let trusted = self
            .issuers
            .iter()
            .find(|i| i.issuer == unverified.iss)
            .ok_or_else(|| InvalidToken("the issuer is not trusted".into()))?;
        let key = self.key(trusted, &kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&trusted.issuer]);
        validation.set_audience(&[&trusted.audience]);
        validation.leeway = self.clock_skew.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<CalloutToken>(token, &key, &validation)
            .map_err(|e| InvalidToken(format!("invalid token: {e}")))?
            .claims;
        let caller = match claims.ver.as_deref() {
            Some("1.0") => claims.appid.as_deref(),
            _ => claims.azp.as_deref(),
        };
        if !caller.is_some_and(|c| self.authorized_parties.iter().any(|p| p == c)) {
            return Err(InvalidToken(
                "the token is not from the authentication-events app".into(),
            ));
        }
        Ok(claims)
    }

    /// A fresh cached key `kid` of the issuer, if there is one.
    async fn cached(
        &self,
        issuer: &TrustedIssuer,
        kid: &str,
    ) -> Option<Result<DecodingKey, InvalidToken>> {
        let cache = self.keys.read().await;
        let keys = cache
            .get(&issuer.issuer)
            .filter(|keys| keys.fetched.elapsed() < KEYS_MAX_AGE)?;
        let jwk = keys.set.find(kid)?;
        Some(DecodingKey::from_jwk(jwk).map_err(|e| InvalidToken(format!("unusable key: {e}"))))
    }

    /// The issuer's key `kid`: from the cache, or fetched (again) when unknown or old.
    async fn key(&self, issuer: &TrustedIssuer, kid: &str) -> Result<DecodingKey, InvalidToken> {
        if let Some(key) = self.cached(issuer, kid).await {
            return key;
        }
        let mut fetches = self.fetches.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(issuer, kid).await {
            return key;
        }
        if fetches
            .get(&issuer.issuer)
            .is_some_and(|last| last.elapsed() < REFETCH_INTERVAL)
        {
            return Err(InvalidToken("unknown signing key".into()));
        }
        fetches.insert(issuer.issuer.clone(), Instant::now());
        let set = self
            .fetch(issuer)
            .await
            .map_err(|e| InvalidToken(format!("cannot fetch the issuer's keys: {e}")))?;
        let key = set
            .find(kid)
            .map(DecodingKey::from_jwk)
            .transpose()
            .map_err(|e| InvalidToken(format!("unusable key: {e}")))?;
        self.keys.write().await.insert(
            issuer.issuer.clone(),
            Keys {
                set,
                fetched: Instant::now(),
            },
        );
        key.ok_or_else(|| InvalidToken("unknown signing key".into()))
    }

    async fn fetch(&self, issuer: &TrustedIssuer) -> Result<JwkSet, reqwest::Error> {
        let discovery: Discovery = self
            .http
            .get(issuer.metadata_url())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        self.http
            .get(discovery.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

#[cfg(all(test, feature = "axum"))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use base64::Engine as _;

    use super::*;

    /// A token naming `issuer` and a key the issuer never had (its signature is never
    /// reached: the key is looked up first).
    fn unknown_kid(issuer: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"RS256","kid":"no-such-key"}"#);
        let claims = b64.encode(format!(
            r#"{{"iss":"{issuer}","aud":"a","exp":9999999999}}"#
        ));
        format!("Bearer {header}.{claims}.c2ln")
    }

    #[tokio::test]
    async fn unknown_kids_cannot_make_the_receiver_hammer_its_issuer() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let jwks_uri = format!("{issuer}/keys");
        let counted = Arc::clone(&fetches);
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = serde_json::json!({ "jwks_uri": jwks_uri });
                    async move { axum::Json(body) }
                }),
            )
            .route(
                "/keys",
                axum::routing::get(|| async { axum::Json(serde_json::json!({"keys": []})) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let validator = TokenValidator::new(vec![TrustedIssuer::new(issuer.clone(), "a")]);
        let token = unknown_kid(&issuer);
        let tries: Vec<_> = (0..20)
            .map(|_| {
                let (validator, token) = (validator.clone(), token.clone());
                tokio::spawn(async move { validator.validate(Some(&token)).await })
            })
            .collect();
        for attempt in tries {
            assert!(attempt.await.unwrap().is_err());
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "one fetch for twenty requests"
        );
        assert!(validator.validate(Some(&token)).await.is_err());
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "and none again within the interval"
        );
    }
}
