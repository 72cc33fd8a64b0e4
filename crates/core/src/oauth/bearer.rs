use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DpopRequest, DpopUse, OAuthError, OAuthErrorCode};
use crate::directory::Tenant;
use crate::ids::{GrantId, UserId};
use crate::tokens::{AccessTokenClaims, IdTokenClaims};
use crate::{CoreError, Portico};
use portico_keys::SigningAlgorithm;

/// The userinfo response (OIDC Core §5.3).
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    /// Same pairwise subject as the id token.
    pub sub: String,
    /// Object id.
    pub oid: String,
    /// Tenant id.
    pub tid: String,
    /// Display name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sign-in name (profile scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Email (email scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidToken, description)
}

fn jwt_alg(alg: SigningAlgorithm) -> Algorithm {
    match alg {
        SigningAlgorithm::Rs256 => Algorithm::RS256,
        SigningAlgorithm::Es256 => Algorithm::ES256,
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

/// How an access token was presented at a resource (RFC 6750, RFC 9449 §7).
#[derive(Debug, Clone, Copy)]
pub enum Presentation<'a> {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with the request's `DPoP` proof (`None`: the header is missing).
    Dpop(Option<DpopRequest<'a>>),
}

impl Portico {
    /// A DPoP-bound token is good only with a proof of its key (RFC 9449 §7.1); a bearer
    /// token only as a bearer token, so a client cannot pass one off as bound.
    pub(crate) async fn check_presentation(
        &self,
        tenant: &Tenant,
        token: &str,
        claims: &AccessTokenClaims,
        presented: Presentation<'_>,
    ) -> Result<(), OAuthError> {
        match (&claims.cnf, presented) {
            (None, Presentation::Bearer) => Ok(()),
            (Some(_), Presentation::Bearer) => Err(invalid_token(
                "this token is bound to a DPoP key: present it with the DPoP scheme and a proof",
            )),
            (None, Presentation::Dpop(_)) => {
                Err(invalid_token("this token is not bound to a DPoP key"))
            }
            (Some(_), Presentation::Dpop(None)) => Err(super::dpop::invalid_proof(
                "the DPoP scheme needs a DPoP proof header",
            )),
            (Some(cnf), Presentation::Dpop(Some(proof))) => {
                let key = self
                    .check_dpop_proof(
                        tenant,
                        proof,
                        DpopUse::Resource {
                            access_token: token,
                        },
                    )
                    .await?;
                if key.thumbprint() == cnf.jkt {
                    Ok(())
                } else {
                    Err(super::dpop::invalid_proof(
                        "the DPoP proof is not made with the key this token is bound to",
                    ))
                }
            }
        }
    }

    /// Verifies a JWT this tenant signed: known kid, the key's own algorithm, our issuer, the
    /// expected `typ`. `check_exp` is off only for `id_token_hint`.
    async fn verify_own_jwt<C: DeserializeOwned>(
        &self,
        tenant: &Tenant,
        token: &str,
        typ: &str,
        check_exp: bool,
    ) -> Result<C, OAuthError> {
        let header = decode_header(token).map_err(|_| invalid_token("malformed token"))?;
        if header.typ.as_deref() != Some(typ) {
            return Err(invalid_token("wrong token type"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid_token("token has no kid"))?;
        let keys = self
            .keys
            .tenant_keys(self.store.as_ref(), tenant.id, self.now())
            .await?;
        let (alg, key) = keys
            .verifying
            .get(&kid)
            .ok_or_else(|| invalid_token("token was not signed by this tenant"))?;
        let alg = jwt_alg(*alg);
        if header.alg != alg {
            return Err(invalid_token("token algorithm does not match its key"));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[self.issuer(tenant)]);
        validation.validate_aud = false;
        validation.validate_exp = check_exp;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["iss", "exp"]);
        decode::<C>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| invalid_token("the token is invalid or has expired"))
    }

    /// Verifies an access token issued by this tenant and still backed by an active grant.
    pub async fn verify_access_token(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<AccessTokenClaims, OAuthError> {
        let claims: AccessTokenClaims = self.verify_own_jwt(tenant, token, "at+jwt", true).await?;
        if claims.tid != tenant.id.to_string() {
            return Err(invalid_token("token belongs to another tenant"));
        }
        if let Some(rh) = &claims.rh {
            let grant: GrantId = rh.parse().map_err(|_| invalid_token("malformed token"))?;
            let active = self
                .store
                .grant_is_active(tenant.id, grant)
                .await
                .map_err(CoreError::from)?;
            if !active {
                return Err(invalid_token("the token has been revoked"));
            }
        }
        Ok(claims)
    }

    /// Verifies an id token this tenant issued, ignoring expiry (for `id_token_hint`).
    pub async fn verify_id_token_hint(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<IdTokenClaims, OAuthError> {
        self.verify_own_jwt(tenant, token, "JWT", false).await
    }

    /// Entra's `getMemberObjects`, where the overage claims point: the ids of the groups
    /// (nested ones too) of the user a bearer access token was issued for, and of no other,
    /// as far as the token's app may know them: nothing for an app without a `groups`
    /// claim, only the groups assigned to it for one that gets names.
    pub async fn member_objects(
        &self,
        tenant: &Tenant,
        token: &str,
        user: &str,
    ) -> Result<Vec<String>, OAuthError> {
        let claims = self.verify_access_token(tenant, token).await?;
        self.check_presentation(tenant, token, &claims, Presentation::Bearer)
            .await?;
        if claims.oid != user {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidToken,
                "the token was issued for another user",
            ));
        }
        let user: UserId = claims
            .oid
            .parse()
            .map_err(|_| invalid_token("the token was not issued for a user"))?;
        let app = match claims.aud.parse() {
            Ok(client_id) => self
                .application(tenant.id, client_id)
                .await
                .map_err(CoreError::from)?,
            Err(_) => None,
        };
        let refused = || {
            OAuthError::new(
                OAuthErrorCode::InvalidToken,
                "the token's app does not receive groups",
            )
        };
        let app = app.ok_or_else(refused)?;
        let groups = self
            .store
            .groups_of_users(tenant.id, &[user])
            .await
            .map_err(CoreError::from)?;
        let seen = self
            .groups_seen_by(tenant.id, &app, groups)
            .await?
            .ok_or_else(refused)?;
        Ok(seen.into_iter().map(|g| g.group).collect())
    }

    /// The userinfo endpoint: claims about the user a delegated access token was issued for.
    pub async fn userinfo(
        &self,
        tenant: &Tenant,
        token: &str,
        presented: Presentation<'_>,
    ) -> Result<UserInfo, OAuthError> {
        let claims = self.verify_access_token(tenant, token).await?;
        self.check_presentation(tenant, token, &claims, presented)
            .await?;
        let scopes: Vec<&str> = claims
            .scp
            .as_deref()
            .map(|s| s.split(' ').collect())
            .unwrap_or_default();
        if !scopes.contains(&"openid") {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidToken,
                "the token was not issued with the openid scope",
            ));
        }
        let user_id: UserId = claims
            .oid
            .parse()
            .map_err(|_| invalid_token("malformed token"))?;
        let user = self
            .store
            .find_user(tenant.id, user_id)
            .await
            .map_err(CoreError::from)?
            .filter(|user| user.enabled)
            .ok_or_else(|| invalid_token("the user no longer exists or is disabled"))?;
        let profile = scopes.contains(&"profile");
        Ok(UserInfo {
            sub: claims.sub,
            oid: claims.oid,
            tid: claims.tid,
            name: user.display_name.clone().filter(|_| profile),
            preferred_username: profile.then(|| user.email.clone()),
            email: scopes.contains(&"email").then(|| user.email.clone()),
        })
    }
}
