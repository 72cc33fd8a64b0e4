//! Token introspection (RFC 7662) and revocation (RFC 7009). Both authenticate the client
//! first, and both see only tokens the calling client has a part in: an access token it was
//! issued to or is the audience of, a refresh token issued to it. Anything else is, to the
//! caller, a token that is not active (introspection) or nothing to do (revocation), so
//! neither endpoint tells one client about another's tokens.

use serde::Serialize;

use super::{ClientAuthMethod, ClientCredentials, OAuthError, OAuthErrorCode};
use crate::directory::{Application, Tenant};
use crate::ids::GrantId;
use crate::secret::digest_secret;
use crate::tokens::AccessTokenClaims;
use crate::{CoreError, Portico};

/// An introspection answer: `{"active": false}` alone, or the token's facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Introspection {
    /// Whether the token is valid now.
    pub active: bool,
    /// Its scope (delegated scopes of the audience, or the OpenID Connect scopes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Subject (pairwise for user tokens, as in the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The user's (or, app-only, the client's) object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// Tenant id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// App roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The DPoP key a bound token is bound to (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::tokens::Confirmation>,
}

impl Introspection {
    fn inactive() -> Self {
        Self::default()
    }

    fn of_access_token(claims: AccessTokenClaims) -> Self {
        Self {
            active: true,
            scope: claims.scp,
            client_id: Some(claims.azp),
            token_type: Some(
                if claims.cnf.is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                }
                .into(),
            ),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti),
            oid: Some(claims.oid),
            tid: Some(claims.tid),
            roles: claims.roles,
            cnf: claims.cnf,
        }
    }
}

/// What a token is, for the client asking about it.
enum Known {
    /// One of this tenant's access tokens, valid, that the caller has a part in.
    Access(Box<AccessTokenClaims>),
    /// A refresh token issued to the caller that still works.
    Refresh(Box<crate::store::RefreshTokenRecord>),
    /// Nothing the caller may know about.
    Unknown,
}

impl Portico {
    /// What `token` is to `caller`. JWTs are tried as access tokens, anything else as a
    /// refresh token; a hint only saves work and never changes the answer (RFC 7009 §2.1).
    async fn known_token(
        &self,
        tenant: &Tenant,
        caller: &Application,
        token: &str,
    ) -> Result<Known, OAuthError> {
        let caller_id = caller.client_id.to_string();
        if token.split('.').count() == 3 {
            return Ok(match self.verify_access_token(tenant, token).await {
                Ok(claims) if claims.azp == caller_id || claims.aud == caller_id => {
                    Known::Access(Box::new(claims))
                }
                _ => Known::Unknown,
            });
        }
        let record = self
            .store
            .live_refresh_token(tenant.id, &digest_secret(token), self.now())
            .await
            .map_err(CoreError::from)?;
        Ok(match record {
            Some(record) if record.client_id == caller.client_id => {
                Known::Refresh(Box::new(record))
            }
            _ => Known::Unknown,
        })
    }

    /// RFC 7662 introspection, for confidential clients (the APIs that receive tokens, and
    /// the apps they were issued to).
    pub async fn introspect(
        &self,
        tenant: &Tenant,
        credentials: &ClientCredentials,
        token: Option<&str>,
    ) -> Result<Introspection, OAuthError> {
        let (caller, method) = self.authenticate_client(tenant, credentials).await?;
        if method == ClientAuthMethod::None {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "introspection is for clients that authenticate",
            ));
        }
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok(match self.known_token(tenant, &caller, token).await? {
            Known::Access(claims) => Introspection::of_access_token(*claims),
            Known::Refresh(record) => Introspection {
                active: true,
                scope: Some(record.scope),
                client_id: Some(record.client_id.to_string()),
                token_type: Some("refresh_token".into()),
                exp: Some(record.expires_at),
                iat: Some(record.issued_at),
                oid: Some(record.user_id.to_string()),
                tid: Some(tenant.id.to_string()),
                iss: Some(self.issuer(tenant)),
                ..Introspection::default()
            },
            Known::Unknown => Introspection::inactive(),
        })
    }

    /// RFC 7009 revocation: a refresh token, or an access token the caller was issued,
    /// ends its whole grant (every refresh token of the family, and the access tokens
    /// Portico's endpoints check). A token the caller has no part in is left alone, and the
    /// answer is the same (§2.2).
    pub async fn revoke_token(
        &self,
        tenant: &Tenant,
        credentials: &ClientCredentials,
        token: Option<&str>,
    ) -> Result<(), OAuthError> {
        let (caller, _) = self.authenticate_client(tenant, credentials).await?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let grant: Option<GrantId> = match self.known_token(tenant, &caller, token).await? {
            // An API may introspect a token sent to it, but only the client it was issued to
            // may end its grant.
            Known::Access(claims) if claims.azp == caller.client_id.to_string() => {
                claims.rh.as_deref().and_then(|rh| rh.parse().ok())
            }
            Known::Refresh(record) => Some(record.grant_id),
            _ => None,
        };
        // A token issued on a user's behalf to another client (on-behalf-of, token exchange)
        // shares the user's grant: only the client the grant was made to may end it.
        let grant = match grant {
            Some(grant)
                if self
                    .store
                    .grant_client(tenant.id, grant)
                    .await
                    .map_err(CoreError::from)?
                    == Some(caller.client_id) =>
            {
                Some(grant)
            }
            _ => None,
        };
        if let Some(grant) = grant {
            self.store
                .revoke_grant(tenant.id, grant, self.now())
                .await
                .map_err(CoreError::from)?;
            tracing::info!(tenant.id = %tenant.id, client_id = %caller.client_id, grant.id = %grant, "grant revoked by its client");
        }
        Ok(())
    }
}
