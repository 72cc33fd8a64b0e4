use serde::{Deserialize, Serialize};

use crate::ids::{ClientId, TenantId, UserId};
use crate::secret::sha256_b64;

/// Claims of an id token (Entra v2.0 shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The client id.
    pub aud: String,
    /// Pairwise subject.
    pub sub: String,
    /// User object id.
    pub oid: String,
    /// Tenant id.
    pub tid: String,
    /// Always `2.0`.
    pub ver: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Echo of the authorization request's nonce.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// SSO session id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// Display name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// Sign-in name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_username: Option<String>,
    /// Email (email scope).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
}

/// Claims of an access token: Entra v2.0 shape plus the RFC 9068 registered claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The resource's client id.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// The client the token was issued to.
    pub azp: String,
    /// How the client authenticated: "0" public, "1" secret, "2" certificate.
    pub azpacr: String,
    /// RFC 9068 `client_id` (same as `azp`).
    pub client_id: String,
    /// Delegated scopes (user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scp: Option<String>,
    /// App roles (app-only tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<String>>,
    /// Object id of the user, or of the client for app-only tokens.
    pub oid: String,
    /// Subject: pairwise for users; the client for app-only tokens.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Always `2.0`.
    pub ver: String,
    /// Unique token id (Entra's name for it).
    pub uti: String,
    /// Unique token id (RFC 9068's name for it).
    pub jti: String,
    /// Display name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// Sign-in name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_username: Option<String>,
    /// SSO session id (user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// Opaque grant handle, so Portico can refuse tokens of a revoked grant (Entra's `rh`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rh: Option<String>,
}

/// The subject identifier a user has at one application: stable, and different per app, so
/// two apps cannot correlate users by `sub` (Entra's `sub` is pairwise in the same way).
pub fn pairwise_subject(tenant: TenantId, client: ClientId, user: UserId) -> String {
    sha256_b64(format!("portico-sub:v1:{tenant}:{client}:{user}").as_bytes())
}
