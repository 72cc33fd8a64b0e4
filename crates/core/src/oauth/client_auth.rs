use super::{OAuthError, OAuthErrorCode};
use crate::Portico;
use crate::directory::{Application, Tenant};
use crate::ids::ClientId;
use crate::secret::secret_matches;

/// Client credentials as presented at the token endpoint, after the HTTP layer has read the
/// `Authorization` header and the form.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From HTTP Basic (`client_secret_basic`).
    pub basic: Option<(String, String)>,
    /// `client_id` form field.
    pub form_client_id: Option<String>,
    /// `client_secret` form field (`client_secret_post`).
    pub form_client_secret: Option<String>,
    /// `client_assertion_type` form field (`private_key_jwt`).
    pub assertion_type: Option<String>,
    /// `client_assertion` form field: a JWT the client signed (`private_key_jwt`).
    pub assertion: Option<String>,
}

/// How the client authenticated, for the `azpacr` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// Public client: no authentication (`azpacr` 0).
    None,
    /// Shared secret (`azpacr` 1).
    Secret,
    /// A signed assertion (`private_key_jwt`, `azpacr` 2).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The `azpacr` claim value.
    pub fn azpacr(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::Secret => "1",
            Self::PrivateKeyJwt => "2",
        }
    }
}

impl Portico {
    /// Authenticates the client of a token request (RFC 6749 §2.3). Public clients identify
    /// themselves with `client_id` and must not present a secret; confidential clients must
    /// present their secret by exactly one method.
    pub async fn authenticate_client(
        &self,
        tenant: &Tenant,
        credentials: &ClientCredentials,
    ) -> Result<(Application, ClientAuthMethod), OAuthError> {
        if credentials.assertion.is_some() || credentials.assertion_type.is_some() {
            if credentials.basic.is_some() || credentials.form_client_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use only one client authentication method",
                ));
            }
            return self.authenticate_assertion(tenant, credentials).await;
        }
        if credentials.basic.is_some() && credentials.form_client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        let (client_id, secret) = match (&credentials.basic, &credentials.form_client_id) {
            (Some((id, secret)), form_id) => {
                if form_id.as_ref().is_some_and(|form_id| form_id != id) {
                    return Err(OAuthError::invalid_request(
                        "client_id does not match the authenticated client",
                    ));
                }
                (id.as_str(), Some(secret.as_str()))
            }
            (None, Some(id)) => (id.as_str(), credentials.form_client_secret.as_deref()),
            (None, None) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidClient,
                    "client_id parameter is empty or not valid",
                ));
            }
        };
        let client_id: ClientId = client_id
            .parse()
            .map_err(|_| OAuthError::invalid_client())?;
        let app = self
            .application(tenant.id, client_id)
            .await
            .map_err(crate::CoreError::from)?
            .ok_or_else(OAuthError::invalid_client)?;
        match (app.kind.is_confidential(), secret) {
            (true, Some(secret)) => {
                let now = self.now();
                let secrets = self
                    .cached_client_secrets(tenant.id, client_id)
                    .await
                    .map_err(crate::CoreError::from)?;
                // Every live secret is compared (no early exit), so the time taken does not
                // tell which one matched.
                let matched = secrets
                    .iter()
                    .filter(|s| s.is_live(now))
                    .fold(false, |found, s| {
                        secret_matches(secret, &s.secret_digest) | found
                    });
                if matched {
                    Ok((app, ClientAuthMethod::Secret))
                } else {
                    Err(OAuthError::invalid_client())
                }
            }
            (false, None) => Ok((app, ClientAuthMethod::None)),
            (false, Some(_)) => Err(OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "the client is public, so no client_secret may be presented",
            )),
            (true, None) => Err(OAuthError::invalid_client()),
        }
    }
}
