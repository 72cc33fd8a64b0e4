//! User consent: the delegated scopes of an API that a request asks for and no administrator
//! granted to the client are shown to the user on the consent step of the sign-in engine;
//! what they accept is remembered per user and client app, until an operator revokes it (or
//! the API stops exposing the scope). A request with `prompt=consent` asks again.

use super::resource::DEFAULT_SCOPE;
use super::{AuthorizeParams, Scope};
use crate::directory::{Application, Tenant, TenantRef};
use crate::ids::{ClientId, UserId};
use crate::signin::engine::ConsentAsk;
use crate::store::{PermissionKind, UserConsent};
use crate::{CoreError, Portico};

impl Portico {
    /// The consent a hosted sign-in for the authorization request `params` must get (see
    /// [`Portico::consent_ask`]); `None` for a request that was not validated or asks for
    /// nothing to consent to. Called when the flow starts.
    pub(crate) async fn consent_for_request(
        &self,
        tenant: &Tenant,
        client: ClientId,
        params: &AuthorizeParams,
    ) -> Result<Option<ConsentAsk>, CoreError> {
        let Ok(scope) = Scope::parse(params.scope.as_deref().unwrap_or_default()) else {
            return Ok(None);
        };
        let Some(app) = self.application(tenant.id, client).await? else {
            return Ok(None);
        };
        let always = params.prompt.as_deref() == Some("consent");
        self.consent_ask(tenant, &app, &scope, always).await
    }

    /// The consent a sign-in for `scope` at `client` must get before it finishes: the
    /// scopes of the API it names that are not granted by an administrator (with `always`,
    /// `prompt=consent`, every scope asked). `None` when there is nothing to ask. A scope
    /// that cannot be asked for at all is refused by the authorization endpoint before any
    /// flow starts, so it is simply not part of the ask here.
    pub(crate) async fn consent_ask(
        &self,
        tenant: &Tenant,
        client: &Application,
        scope: &Scope,
        always: bool,
    ) -> Result<Option<ConsentAsk>, CoreError> {
        let Ok(requested) = self.split_scope(tenant, scope).await else {
            return Ok(None);
        };
        let Some((api, _, asked)) = requested.api else {
            return Ok(None);
        };
        let granted = self.granted_on(client, &api, PermissionKind::Scope).await?;
        let mut scopes: Vec<String> = if asked.iter().any(|n| n == DEFAULT_SCOPE) {
            // `.default` is what is already granted or consented: with prompt=consent the
            // person sees what the administrator granted, otherwise nothing is asked.
            if always { granted.clone() } else { Vec::new() }
        } else {
            asked
                .into_iter()
                .filter(|name| always || !granted.contains(name))
                .collect()
        };
        let mut seen = std::collections::HashSet::new();
        scopes.retain(|name| seen.insert(name.clone()));
        let granted = scopes
            .iter()
            .filter(|name| granted.contains(name))
            .cloned()
            .collect();
        Ok((!scopes.is_empty()).then_some(ConsentAsk {
            api: api.client_id,
            scopes,
            always,
            granted,
            settled: false,
        }))
    }

    /// The scopes of `ask` that `user` has not consented to for `client` (all of them when
    /// the ask is for `prompt=consent`).
    pub(crate) async fn unconsented(
        &self,
        tenant: &Tenant,
        client: ClientId,
        user: UserId,
        ask: &ConsentAsk,
    ) -> Result<Vec<String>, CoreError> {
        if ask.always {
            return Ok(ask.scopes.clone());
        }
        let given = self.consented_on(tenant, client, user, ask.api).await?;
        Ok(ask
            .scopes
            .iter()
            .filter(|name| !given.contains(name))
            .cloned()
            .collect())
    }

    /// The scopes of `api` that `user` consented to for `client`.
    pub(crate) async fn consented_on(
        &self,
        tenant: &Tenant,
        client: ClientId,
        user: UserId,
        api: ClientId,
    ) -> Result<Vec<String>, CoreError> {
        Ok(self
            .store
            .user_consents(tenant.id, user, Some(client))
            .await?
            .into_iter()
            .filter(|c| c.api_client_id == api)
            .map(|c| c.scope)
            .collect())
    }

    /// Whether a signed-in user still has to consent before `client` gets what `scope`
    /// asks (the authorization endpoint then shows the consent step, or answers
    /// `consent_required` to `prompt=none`).
    pub async fn needs_consent(
        &self,
        tenant: &Tenant,
        client: &Application,
        scope: &Scope,
        always: bool,
        user: UserId,
    ) -> Result<bool, CoreError> {
        Ok(
            match self.consent_ask(tenant, client, scope, always).await? {
                Some(ask) => !self
                    .unconsented(tenant, client.client_id, user, &ask)
                    .await?
                    .is_empty(),
                None => false,
            },
        )
    }

    /// What a user consented to, for every client app (an operator's view).
    pub async fn user_consents(
        &self,
        tenant: &TenantRef,
        user: &str,
    ) -> Result<Vec<UserConsent>, CoreError> {
        let user = self.find_user(tenant, user).await?;
        Ok(self
            .store
            .user_consents(user.tenant_id, user.id, None)
            .await?)
    }

    /// Takes back what a user consented to for `client` (or for every app): the next token
    /// for those scopes, a refresh included, is refused until they consent again. Returns
    /// how many scopes were revoked.
    pub async fn revoke_user_consents(
        &self,
        tenant: &TenantRef,
        user: &str,
        client: Option<ClientId>,
    ) -> Result<u64, CoreError> {
        let user = self.find_user(tenant, user).await?;
        Ok(self
            .store
            .revoke_user_consents(user.tenant_id, user.id, client)
            .await?)
    }
}

/// What the consent step shows: who asks, for what, in the API's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    /// The app that asks.
    pub app_name: String,
    /// The API whose scopes it asks for.
    pub api_name: String,
    /// Each scope asked: its name and the API's text for users (empty if it has none).
    pub scopes: Vec<(String, String)>,
}

impl Portico {
    /// The consent step of `flow` as a person should see it; `None` when the flow is not at
    /// that step (or its apps are gone).
    pub async fn consent_view(
        &self,
        tenant: &Tenant,
        flow: &crate::signin::SignInFlow,
    ) -> Result<Option<ConsentView>, CoreError> {
        let (crate::signin::engine::Step::Consent { scopes }, Some(ask), Some(client)) =
            (&flow.flow.step, &flow.flow.consent, flow.client_id)
        else {
            return Ok(None);
        };
        let (Some(app), Some(api)) = (
            self.application(tenant.id, client).await?,
            self.application(tenant.id, ask.api).await?,
        ) else {
            return Ok(None);
        };
        let scopes = scopes
            .iter()
            .map(|name| {
                let text = api
                    .api
                    .scope(name)
                    .map(|s| s.user_consent_description.clone())
                    .unwrap_or_default();
                (name.clone(), text)
            })
            .collect();
        Ok(Some(ConsentView {
            app_name: app.name,
            api_name: api.name,
            scopes,
        }))
    }
}
