//! OnTokenIssuanceStart: claims from the company's service in the tokens Portico issues, for
//! every grant alike (the pipeline calls it). As in Entra, the provider is chosen by the
//! token's audience: the client app's extension gives claims to its ID token, the API's to
//! the access token; only claims the extension declares are taken, each under the app's
//! mapped name (or its own). A failed call fails the issuance (nothing is issued).
//!
//! In the authorization-code flow the call is made when the code is issued, at the end of the
//! person's sign-in, and its answer travels with the code: so a failing extension shows the
//! person Portico's error page (as Entra shows its own) rather than surfacing only as an
//! error at the app's back end, and one sign-in makes one call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::callout::CallFor;
use super::payload::{CalloutContext, envelope};
use super::{Answer, ClaimValue, Extension, ExtensionEvent};
use crate::directory::{Application, Tenant, User};
use crate::ids::ClientId;
use crate::{CoreError, Portico};

/// Claims extensions provided, by token.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvidedClaims {
    /// The access token's audience the extensions were asked for; `None` when no extension
    /// was called (nothing to carry to a later issuance).
    #[serde(default)]
    pub audience: Option<ClientId>,
    /// For the ID token (the client app's extension).
    pub id_token: Map<String, Value>,
    /// For the access token (the API's extension).
    pub access_token: Map<String, Value>,
}

impl ProvidedClaims {
    /// As kept beside a code or device approval until its tokens are issued: `None` when
    /// no extension was asked (so issuance asks, should one have been added since).
    pub(crate) fn to_stored(&self) -> Result<Option<String>, CoreError> {
        self.audience
            .map(|_| serde_json::to_string(self))
            .transpose()
            .map_err(|err| CoreError::Internal(err.to_string()))
    }

    /// Reads what [`ProvidedClaims::to_stored`] kept. Unreadable claims (a row written by
    /// another version) only mean asking the extensions again.
    pub(crate) fn from_stored(stored: Option<&str>) -> Option<Self> {
        stored.and_then(|json| serde_json::from_str(json).ok())
    }
}

/// The claims `extension` declared, from `provided`, named for `app`.
fn mapped(
    extension: &Extension,
    provided: &BTreeMap<String, ClaimValue>,
    app: &Application,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for source in &extension.claims {
        let Some(value) = provided.get(source) else {
            continue;
        };
        let name = app
            .claim_mappings
            .iter()
            .find(|m| &m.source == source)
            .map_or(source.as_str(), |m| m.claim.as_str());
        if !super::registry::settable_claim(name) {
            continue;
        }
        let value = match value {
            ClaimValue::Text(text) => Value::String(text.clone()),
            ClaimValue::List(items) => items.iter().cloned().map(Value::String).collect(),
        };
        claims.insert(name.to_owned(), value);
    }
    claims
}

impl Portico {
    /// Calls the token-issuance extensions of `client` (for its ID token) and of
    /// `audience` (for the access token), once each (once in all when one extension serves
    /// both). `user` is `None` for app-only tokens.
    pub(crate) async fn claims_from_extensions(
        &self,
        tenant: &Tenant,
        client: &Application,
        audience: &Application,
        user: Option<&User>,
    ) -> Result<ProvidedClaims, CoreError> {
        let event = ExtensionEvent::TokenIssuanceStart;
        let all = self.extensions(tenant.id).await?;
        if !all.iter().any(|e| e.event == event) {
            return Ok(ProvidedClaims::default());
        }
        let for_client = all
            .iter()
            .find(|e| e.event == event && e.applies_to(client.client_id));
        let for_audience = all
            .iter()
            .find(|e| e.event == event && e.applies_to(audience.client_id));
        if for_client.is_none() && for_audience.is_none() {
            return Ok(ProvidedClaims::default());
        }
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let mut provided = ProvidedClaims {
            audience: Some(audience.client_id),
            ..ProvidedClaims::default()
        };
        let mut answers: Vec<(&str, BTreeMap<String, ClaimValue>)> = Vec::new();
        for extension in [for_client, for_audience].into_iter().flatten() {
            if answers.iter().any(|(id, _)| *id == extension.id) {
                continue;
            }
            let context = CalloutContext {
                tenant,
                extension,
                correlation_id: &correlation_id,
                client: Some(client),
                resource: Some(audience),
                client_ip: None,
                locale: None,
                user,
                request_type: None,
            };
            let payload = envelope(&context, Map::new());
            let call = CallFor {
                correlation_id: &correlation_id,
                client: Some(client.client_id),
                nonce: None,
            };
            let answer = self
                .call_extension(tenant, extension, &payload, call)
                .await?;
            let Answer::ProvideClaims(claims) = answer else {
                // parse_answer allows only provideClaimsForToken for this event.
                return Err(CoreError::Extension {
                    code: 1_003_012,
                    name: "InvalidActionType",
                });
            };
            answers.push((&extension.id, claims));
        }
        for (id, claims) in &answers {
            if let Some(extension) = for_client.filter(|e| &e.id == id) {
                provided.id_token = mapped(extension, claims, client);
            }
            if let Some(extension) = for_audience.filter(|e| &e.id == id) {
                provided.access_token = mapped(extension, claims, audience);
            }
        }
        Ok(provided)
    }
}
