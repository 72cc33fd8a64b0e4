use super::OAuthError;
use crate::directory::Tenant;
use crate::ids::{ClientId, SessionId};
use crate::signin::ActiveSession;
use crate::{CoreError, Portico};

/// An RP-initiated logout request, as read from the wire.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogoutRequest<'a> {
    /// `id_token_hint`.
    pub id_token_hint: Option<&'a str>,
    /// `client_id`.
    pub client_id: Option<&'a str>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// `state`, echoed to the redirect.
    pub state: Option<&'a str>,
    /// The user confirmed on Portico's own page (CSRF-checked by the caller).
    pub confirmed: bool,
}

/// What RP-initiated logout leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Signed out (or nobody was signed in).
    SignedOut {
        /// Send the browser here afterwards (the verified `post_logout_redirect_uri` +
        /// `state`); without it, show the "you are signed out" page.
        redirect: Option<String>,
        /// The front-channel logout URLs of the apps the session served (with `iss` and
        /// `sid`), for the sign-out page to load in frames first.
        front_channel: Vec<String>,
    },
    /// No proof the request comes from the user's app: ask the user to confirm first.
    ConfirmationRequired,
}

impl Portico {
    /// OpenID Connect RP-Initiated Logout 1.0. The redirect target must be registered for the
    /// client named by `id_token_hint` (or `client_id`). Without a valid hint for the current
    /// session, the user confirms on a page (`confirmed`) so a third-party page cannot sign
    /// them out silently.
    pub async fn logout(
        &self,
        tenant: &Tenant,
        request: LogoutRequest<'_>,
        session: Option<&ActiveSession>,
    ) -> Result<LogoutOutcome, OAuthError> {
        let LogoutRequest {
            id_token_hint,
            client_id,
            post_logout_redirect_uri,
            state,
            confirmed,
        } = request;
        let hint =
            match id_token_hint {
                Some(token) => Some(self.verify_id_token_hint(tenant, token).await.map_err(
                    |_| {
                        OAuthError::invalid_request(
                            "id_token_hint is not a valid id token of this tenant",
                        )
                    },
                )?),
                None => None,
            };
        let client = match (hint.as_ref().map(|h| h.aud.as_str()), client_id) {
            (Some(aud), Some(id)) if aud != id => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the id_token_hint audience",
                ));
            }
            (Some(aud), _) => Some(aud),
            (None, id) => id,
        };
        let redirect = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let client: ClientId = client
                    .ok_or_else(|| {
                        OAuthError::invalid_request(
                            "post_logout_redirect_uri requires id_token_hint or client_id",
                        )
                    })?
                    .parse()
                    .map_err(|_| OAuthError::invalid_request("client_id is not valid"))?;
                let app = self
                    .application(tenant.id, client)
                    .await
                    .map_err(CoreError::from)?
                    .ok_or_else(|| OAuthError::invalid_request("unknown client"))?;
                if !app.redirect_uris.iter().any(|registered| registered == uri) {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                // Anyone with an initial access token can register any URI: without an ID
                // token of the session, such an app's logout link would be an open redirect.
                if hint.is_none()
                    && self
                        .store
                        .registration(tenant.id, app.client_id)
                        .await
                        .map_err(CoreError::from)?
                        .is_some()
                {
                    return Err(OAuthError::invalid_request(
                        "a self-registered app's post_logout_redirect_uri needs an id_token_hint",
                    ));
                }
                let mut target = url::Url::parse(uri).map_err(|_| {
                    OAuthError::invalid_request("post_logout_redirect_uri is not a URL")
                })?;
                if let Some(state) = state {
                    target.query_pairs_mut().append_pair("state", state);
                }
                Some(target.to_string())
            }
        };
        let mut front_channel = Vec::new();
        if let Some(session) = session {
            let hint_matches = hint.as_ref().is_some_and(|h| {
                h.sid.as_deref() == Some(session.record.id.to_string().as_str())
                    || h.oid == session.user.id.to_string()
            });
            if !hint_matches && !confirmed {
                return Ok(LogoutOutcome::ConfirmationRequired);
            }
            let served = self.end_session(tenant, session.record.id).await?;
            front_channel = self
                .front_channel_logout_urls(tenant, session.record.id, &served)
                .await?;
        }
        Ok(LogoutOutcome::SignedOut {
            redirect,
            front_channel,
        })
    }

    /// Front-Channel Logout 1.0 §2: each served app's URI with the issuer and the session
    /// id, so the app can tell which of its sessions to end.
    async fn front_channel_logout_urls(
        &self,
        tenant: &Tenant,
        session: SessionId,
        served: &[ClientId],
    ) -> Result<Vec<String>, CoreError> {
        let mut urls = Vec::new();
        for client in served {
            let Some(app) = self.application(tenant.id, *client).await? else {
                continue;
            };
            let Some(uri) = app.logout.frontchannel.as_deref() else {
                continue;
            };
            let Ok(mut url) = url::Url::parse(uri) else {
                continue;
            };
            url.query_pairs_mut()
                .append_pair("iss", &self.issuer(tenant))
                .append_pair("sid", &session.to_string());
            urls.push(url.to_string());
        }
        Ok(urls)
    }
}
