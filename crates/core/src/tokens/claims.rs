use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::directory::{Application, User};
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
    /// How the user authenticated (RFC 8176 values).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amr: Option<Vec<String>>,
    /// Binds the access token issued beside it at the authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    /// Binds the code issued beside it (hybrid flow).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c_hash: Option<String>,
    /// The app's optional claims (user attributes).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
    /// How the user authenticated (RFC 8176 values; user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amr: Option<Vec<String>>,
    /// Who acts for the user (RFC 8693 §4.1; tokens from a delegating token exchange).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Value>,
    /// The key the token is bound to (RFC 9449 §6.1: `{"jkt": thumbprint}`); absent for
    /// bearer tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
    /// The app's optional claims (user attributes; user tokens).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of the DPoP key it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 7638 SHA-256 thumbprint of the key (RFC 9449 §6.1).
    pub jkt: String,
}

/// The `amr` claim from the stored space-separated list; absent when nothing is known (an
/// account created by an operator and signed in before Portico recorded methods).
pub fn amr_claim(amr: &str) -> Option<Vec<String>> {
    let methods: Vec<String> = amr.split_whitespace().map(str::to_owned).collect();
    (!methods.is_empty()).then_some(methods)
}

/// The optional claims an app asked for, from the user's attributes. Built-in attributes with
/// an OpenID Connect name take it (`givenName` → `given_name`, `surname` → `family_name`);
/// `email` is the sign-in email; other attributes keep their names. Attributes the user has no
/// value for are left out rather than sent empty. (`displayName` is handled by the caller:
/// it fills `name`.)
pub fn optional_claims(app: &Application, user: &User) -> Map<String, Value> {
    let mut claims = Map::new();
    for attribute in &app.optional_claims {
        let (claim, value) = match attribute.as_str() {
            "email" => ("email", Some(Value::String(user.email.clone()))),
            "displayName" => continue,
            "givenName" => ("given_name", user.attributes.get("givenName").cloned()),
            "surname" => ("family_name", user.attributes.get("surname").cloned()),
            other => (other, user.attributes.get(other).cloned()),
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            claims.insert(claim.to_owned(), value);
        }
    }
    claims
}

/// The subject identifier a user has at one application: stable, and different per app, so
/// two apps cannot correlate users by `sub` (Entra's `sub` is pairwise in the same way).
pub fn pairwise_subject(tenant: TenantId, client: ClientId, user: UserId) -> String {
    sha256_b64(format!("portico-sub:v1:{tenant}:{client}:{user}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::AppKind;

    #[test]
    fn optional_claims_come_from_attributes_with_oidc_names() {
        let tenant = TenantId::new_random();
        let app = Application {
            client_id: ClientId::new_random(),
            tenant_id: tenant,
            name: "app".into(),
            kind: AppKind::Spa,
            redirect_uris: Vec::new(),
            identifier_uri: None,
            optional_claims: [
                "givenName",
                "surname",
                "loyalty",
                "missing",
                "email",
                "displayName",
            ]
            .map(String::from)
            .to_vec(),
            native_auth: false,
            cors_origins: Vec::new(),
            api: Default::default(),
            assignment_required: false,
            device_code: false,
            require_par: false,
            require_dpop: false,
            groups_claim: Default::default(),
            claim_mappings: Vec::new(),
            access_token_lifetime_secs: None,
            refresh_token_lifetime_secs: None,
            client_keys: Vec::new(),
            implicit: Default::default(),
            logout: Default::default(),
            created_at: 0,
        };
        let mut user = User {
            id: UserId::new_random(),
            tenant_id: tenant,
            email: "ada@example.com".into(),
            display_name: Some("Ada".into()),
            password_hash: None,
            password_in_legacy_store: false,
            enabled: true,
            attributes: Default::default(),
            created_at: 0,
        };
        user.attributes.insert("givenName".into(), "Ada".into());
        user.attributes.insert("surname".into(), "Lovelace".into());
        user.attributes.insert("loyalty".into(), 42.into());
        let claims = optional_claims(&app, &user);
        assert_eq!(
            Value::Object(claims),
            serde_json::json!({
                "given_name": "Ada",
                "family_name": "Lovelace",
                "loyalty": 42,
                "email": "ada@example.com",
            })
        );
        assert_eq!(amr_claim("pwd mfa"), Some(vec!["pwd".into(), "mfa".into()]));
        assert_eq!(amr_claim(""), None);
    }
}
