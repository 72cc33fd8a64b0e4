use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portico_keys::encode_jws;

use super::claims::{
    AccessTokenClaims, Confirmation, IdTokenClaims, amr_claim, optional_claims, pairwise_subject,
};
use crate::directory::{Application, Tenant, User};
use crate::extensions::ProvidedClaims;
use crate::ids::{GrantId, SessionId};
use crate::oauth::{Audience, ClientAuthMethod, DpopKey, Scope};
use crate::secret::left_half_hash;
use crate::{CoreError, Portico};

/// A grant on behalf of a signed-in user, approved and ready for tokens.
#[derive(Debug)]
pub struct UserGrant<'a> {
    /// Tenant.
    pub tenant: &'a Tenant,
    /// The client.
    pub app: &'a Application,
    /// How the client authenticated.
    pub client_auth: ClientAuthMethod,
    /// The user.
    pub user: &'a User,
    /// The scope of the grant (decides the OpenID Connect claims).
    pub scope: &'a Scope,
    /// What the access token is for and carries.
    pub audience: &'a Audience,
    /// Nonce for the id token (authorization code grant only).
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// How the user authenticated (RFC 8176 values, space-separated).
    pub amr: &'a str,
    /// SSO session.
    pub session_id: SessionId,
    /// The grant (for revocation).
    pub grant_id: GrantId,
    /// The refresh token to hand out, already recorded by the grant.
    pub refresh_token: Option<String>,
    /// The request carried `client_info=1` (MSAL).
    pub client_info: bool,
    /// Issued at the authorization endpoint: the ID token binds what travels beside it.
    pub front_channel: Option<FrontChannel<'a>>,
    /// Who acts for the user (RFC 8693 `act`, token exchange with an actor token).
    pub actor: Option<serde_json::Value>,
    /// The access token expires no later than this (a token derived from another, by
    /// on-behalf-of or token exchange, never outlives the one it came from).
    pub not_after: Option<i64>,
    /// The DPoP key the access token is bound to (RFC 9449); `None`: a bearer token.
    pub sender: Option<&'a DpopKey>,
    /// Claims extensions already provided for this grant (asked when its code was issued);
    /// used when asked for this audience, else the extensions are called now.
    pub provided: Option<ProvidedClaims>,
}

/// What an ID token from the authorization endpoint binds.
#[derive(Debug, Clone, Copy)]
pub struct FrontChannel<'a> {
    /// The access token is returned too (`at_hash`).
    pub with_access_token: bool,
    /// The code returned beside it (`c_hash`).
    pub code: Option<&'a str>,
}

/// A grant to an application acting as itself (client credentials).
#[derive(Debug)]
pub struct AppGrant<'a> {
    /// Tenant.
    pub tenant: &'a Tenant,
    /// The client.
    pub client: &'a Application,
    /// How the client authenticated.
    pub client_auth: ClientAuthMethod,
    /// The API the token is for, the roles it carries and the scope echoed in the response
    /// (`{resource}/.default`).
    pub audience: &'a Audience,
    /// The DPoP key the access token is bound to (RFC 9449); `None`: a bearer token.
    pub sender: Option<&'a DpopKey>,
}

/// The result of the pipeline: everything a token response carries.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The access token (JWT).
    pub access_token: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// The id token, when `openid` was granted.
    pub id_token: Option<String>,
    /// The refresh token, when `offline_access` was granted.
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// MSAL's `client_info`: base64url JSON `{"uid","utid"}`.
    pub client_info: Option<String>,
    /// RFC 8693 `issued_token_type` (token exchange answers carry it).
    pub issued_token_type: Option<&'static str>,
    /// `Bearer`, or `DPoP` for a token bound to a key (RFC 9449 §5).
    pub token_type: &'static str,
}

/// The confirmation claim and token type for a token bound to `sender`, or a bearer token.
fn binding(sender: Option<&DpopKey>) -> (Option<Confirmation>, &'static str) {
    match sender {
        Some(key) => (
            Some(Confirmation {
                jkt: key.thumbprint().to_owned(),
            }),
            "DPoP",
        ),
        None => (None, "Bearer"),
    }
}

/// Adds claims an extension provided, never replacing one Portico set (optional claims and
/// groups come from the directory, which an extension's answer does not overrule).
fn add_missing(
    claims: &mut serde_json::Map<String, serde_json::Value>,
    provided: serde_json::Map<String, serde_json::Value>,
) {
    for (name, value) in provided {
        claims.entry(name).or_insert(value);
    }
}

/// The media type of access tokens (RFC 9068 §2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

impl Portico {
    /// How long an access token of `client` for `audience` lives: the shorter of what
    /// either app sets, else the tenant's lifetime, else the server's.
    async fn access_token_lifetime(
        &self,
        tenant: &Tenant,
        client: &Application,
        audience: &Application,
    ) -> Result<i64, CoreError> {
        let tenant_wide = self
            .tenant_settings(tenant.id)
            .await?
            .access_token_lifetime_secs;
        Ok([
            client.access_token_lifetime_secs,
            audience.access_token_lifetime_secs,
        ]
        .into_iter()
        .flatten()
        .min()
        .or(tenant_wide)
        .unwrap_or(self.settings.access_token_lifetime_secs))
    }

    /// Signs the tokens of a user grant.
    pub async fn issue_user_tokens(&self, grant: UserGrant<'_>) -> Result<IssuedTokens, CoreError> {
        let keys = self
            .keys
            .tenant_keys(self.store.as_ref(), grant.tenant.id, self.now())
            .await?;
        let now = self.now();
        let id_exp = now + self.settings.access_token_lifetime_secs;
        let exp = now
            + self
                .access_token_lifetime(grant.tenant, grant.app, &grant.audience.app)
                .await?;
        let exp = grant.not_after.map_or(exp, |cap| exp.min(cap));
        let issuer = self.issuer(grant.tenant);
        let sub = pairwise_subject(grant.tenant.id, grant.app.client_id, grant.user.id);
        let profile = grant.scope.contains("profile");
        // An app that asked for displayName gets `name` whatever the scope.
        let wants_name = profile || grant.app.optional_claims.iter().any(|c| c == "displayName");
        let display_name = grant.user.display_name.clone().filter(|_| wants_name);
        let extra = optional_claims(grant.app, grant.user);
        let groups = self
            .group_claims(grant.tenant, grant.app, &grant.audience.app, grant.user)
            .await?;
        let asked = grant
            .provided
            .filter(|p| p.audience == Some(grant.audience.app.client_id));
        let provided = match asked {
            Some(provided) => provided,
            None => {
                self.claims_from_extensions(
                    grant.tenant,
                    grant.app,
                    &grant.audience.app,
                    Some(grant.user),
                )
                .await?
            }
        };
        let mut access_extra = extra.clone();
        access_extra.extend(groups.access_token);
        add_missing(&mut access_extra, provided.access_token);
        let amr = amr_claim(grant.amr);
        let uti = crate::secret::random_token()?;
        let audience = grant.audience;
        let (cnf, token_type) = binding(grant.sender);
        let access = AccessTokenClaims {
            aud: audience.app.client_id.to_string(),
            iss: issuer.clone(),
            iat: now,
            nbf: now,
            exp,
            azp: grant.app.client_id.to_string(),
            azpacr: grant.client_auth.azpacr().to_owned(),
            client_id: grant.app.client_id.to_string(),
            scp: Some(audience.scp.join(" ")),
            roles: (!audience.roles.is_empty()).then(|| audience.roles.clone()),
            oid: grant.user.id.to_string(),
            sub: sub.clone(),
            tid: grant.tenant.id.to_string(),
            ver: "2.0".to_owned(),
            jti: uti.clone(),
            uti,
            name: display_name.clone(),
            preferred_username: profile.then(|| grant.user.email.clone()),
            sid: Some(grant.session_id.to_string()),
            rh: Some(grant.grant_id.to_string()),
            amr: amr.clone(),
            act: grant.actor.clone(),
            cnf,
            extra: access_extra,
        };
        let access_token = encode_jws(&keys.signing, ACCESS_TOKEN_TYP, &access)?;
        let id_token = if grant.scope.contains("openid") {
            // The email scope already sets `email`; a claim must not appear twice.
            let mut id_extra = extra;
            id_extra.extend(groups.id_token);
            add_missing(&mut id_extra, provided.id_token);
            if grant.scope.contains("email") {
                id_extra.remove("email");
            }
            let claims = IdTokenClaims {
                iss: issuer,
                aud: grant.app.client_id.to_string(),
                sub,
                oid: grant.user.id.to_string(),
                tid: grant.tenant.id.to_string(),
                ver: "2.0".to_owned(),
                iat: now,
                nbf: now,
                exp: id_exp,
                nonce: grant.nonce.map(str::to_owned),
                auth_time: grant.auth_time,
                sid: Some(grant.session_id.to_string()),
                name: display_name,
                preferred_username: profile.then(|| grant.user.email.clone()),
                email: grant
                    .scope
                    .contains("email")
                    .then(|| grant.user.email.clone()),
                amr,
                at_hash: grant
                    .front_channel
                    .filter(|f| f.with_access_token)
                    .map(|_| left_half_hash(&access_token, keys.signing.algorithm())),
                c_hash: grant
                    .front_channel
                    .and_then(|f| f.code)
                    .map(|code| left_half_hash(code, keys.signing.algorithm())),
                extra: id_extra,
            };
            Some(encode_jws(&keys.signing, "JWT", &claims)?)
        } else {
            None
        };
        let client_info = grant.client_info.then(|| {
            let json = serde_json::json!({
                "uid": grant.user.id.to_string(),
                "utid": grant.tenant.id.to_string(),
            });
            URL_SAFE_NO_PAD.encode(json.to_string())
        });
        metrics::counter!("portico_tokens_issued_total", "kind" => "user").increment(1);
        Ok(IssuedTokens {
            issued_token_type: None,
            token_type,
            access_token,
            expires_in: exp - now,
            id_token,
            refresh_token: grant.refresh_token,
            scope: audience.granted.to_wire(),
            client_info,
        })
    }

    /// Signs the access token of an app-only grant.
    pub async fn issue_app_token(&self, grant: AppGrant<'_>) -> Result<IssuedTokens, CoreError> {
        let now = self.now();
        let keys = self
            .keys
            .tenant_keys(self.store.as_ref(), grant.tenant.id, now)
            .await?;
        let audience = grant.audience;
        let exp = now
            + self
                .access_token_lifetime(grant.tenant, grant.client, &audience.app)
                .await?;
        let provided = self
            .claims_from_extensions(grant.tenant, grant.client, &audience.app, None)
            .await?;
        let client = grant.client.client_id.to_string();
        let uti = crate::secret::random_token()?;
        let (cnf, token_type) = binding(grant.sender);
        let claims = AccessTokenClaims {
            aud: audience.app.client_id.to_string(),
            iss: self.issuer(grant.tenant),
            iat: now,
            nbf: now,
            exp,
            azp: client.clone(),
            azpacr: grant.client_auth.azpacr().to_owned(),
            client_id: client.clone(),
            scp: None,
            roles: (!audience.roles.is_empty()).then(|| audience.roles.clone()),
            oid: client.clone(),
            sub: client,
            tid: grant.tenant.id.to_string(),
            ver: "2.0".to_owned(),
            jti: uti.clone(),
            uti,
            name: None,
            preferred_username: None,
            sid: None,
            rh: None,
            amr: None,
            act: None,
            cnf,
            extra: provided.access_token,
        };
        let access_token = encode_jws(&keys.signing, ACCESS_TOKEN_TYP, &claims)?;
        Ok(IssuedTokens {
            issued_token_type: None,
            token_type,
            access_token,
            expires_in: exp - now,
            id_token: None,
            refresh_token: None,
            scope: audience.granted.to_wire(),
            client_info: None,
        })
    }
}
