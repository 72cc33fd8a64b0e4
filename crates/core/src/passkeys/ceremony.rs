//! What both ceremonies share: the relying party a tenant is, and ceremony state kept in the
//! store, single use, short-lived and bound to what started it.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs_core::WebauthnCore;

use super::{PasskeyError, PasskeyPolicy};
use crate::clock::UnixTime;
use crate::directory::Tenant;
use crate::ids::UserId;
use crate::store::WebauthnChallengeRecord;
use crate::{CoreError, Portico};

/// How long a ceremony may take: a sign-in page may sit open a while before the person
/// picks a passkey from the autofill list.
pub const CHALLENGE_LIFETIME_SECS: i64 = 300;

/// A ceremony started: what the client passes to `navigator.credentials.create()` or
/// `.get()` as `publicKey`, and the ceremony's id, which comes back with the answer.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyOptions {
    /// The ceremony's id.
    pub challenge_id: String,
    /// WebAuthn's `PublicKeyCredentialCreationOptions` or `…RequestOptions` (JSON, binary
    /// fields base64url).
    pub public_key: serde_json::Value,
}

/// An authorization request parked while its person is offered a passkey
/// ([`Portico::park_authorize_request`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParkedRequest {
    /// The request, as the app sent it.
    #[serde(flatten)]
    pub params: crate::oauth::AuthorizeParams,
    /// When it was first parked, plus the lifetime: parking it again (the offer shown again
    /// after a refused answer) keeps this, so failing on purpose cannot keep it forever.
    /// Records parked before this was kept read as 0, already past.
    #[serde(default)]
    until: UnixTime,
}

/// The two ceremonies, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Register,
    Authenticate,
    /// Not a ceremony: the authorization request a sign-in answers once the passkey offer
    /// after it is settled (the flow itself is spent when it finishes).
    Continue,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authenticate => "authenticate",
            Self::Continue => "continue",
        }
    }
}

impl Portico {
    /// The tenant's passkey policy and the relying party it describes.
    pub(super) async fn relying_party(
        &self,
        tenant: &Tenant,
    ) -> Result<(WebauthnCore, PasskeyPolicy), CoreError> {
        let policy = self.tenant_settings(tenant.id).await?.passkeys.clone();
        let (rp_id, origins) = policy.relying_party(&self.settings.public_url)?;
        let relying_party = WebauthnCore::new_unsafe_experts_only(
            &tenant.name,
            &rp_id,
            origins,
            Duration::from_secs(CHALLENGE_LIFETIME_SECS.unsigned_abs()),
            // Origins are listed one by one: no subdomain or port is let in by default.
            Some(false),
            Some(false),
        );
        Ok((relying_party, policy))
    }

    /// Keeps a ceremony's state under its challenge (`challenge`, base64url: 32 random
    /// bytes), which the authenticator signs and the client sends back inside
    /// `clientDataJSON`; so an answer names its own ceremony. Gone at `until`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn keep_ceremony(
        &self,
        tenant: &Tenant,
        purpose: Purpose,
        binding: &str,
        user: Option<UserId>,
        challenge: &str,
        state: &impl Serialize,
        until: UnixTime,
    ) -> Result<String, CoreError> {
        let id = challenge.to_owned();
        let state = serde_json::to_string(state)
            .map_err(|e| CoreError::Internal(format!("ceremony state: {e}")))?;
        self.store
            .create_webauthn_challenge(&WebauthnChallengeRecord {
                tenant_id: tenant.id,
                id: id.clone(),
                purpose: purpose.as_str().to_owned(),
                binding: binding.to_owned(),
                user_id: user,
                state,
                expires_at: until,
            })
            .await?;
        Ok(id)
    }

    /// Keeps the authorization request a finished sign-in answers while its person is offered
    /// a passkey: single use, 5 minutes, only for the session `binding` names. Returns its id.
    pub async fn park_authorize_request(
        &self,
        tenant: &Tenant,
        binding: &str,
        params: &crate::oauth::AuthorizeParams,
    ) -> Result<String, CoreError> {
        let parked = ParkedRequest {
            params: params.clone(),
            until: self.now() + CHALLENGE_LIFETIME_SECS,
        };
        self.repark_authorize_request(tenant, binding, &parked)
            .await
    }

    /// Parks a request taken back again, under a new id, until the time it was first
    /// parked for.
    pub async fn repark_authorize_request(
        &self,
        tenant: &Tenant,
        binding: &str,
        parked: &ParkedRequest,
    ) -> Result<String, CoreError> {
        let id = crate::secret::random_token()?;
        let purpose = Purpose::Continue;
        self.keep_ceremony(tenant, purpose, binding, None, &id, parked, parked.until)
            .await
    }

    /// Takes back (once) the request [`Portico::park_authorize_request`] kept for `binding`.
    pub async fn resume_authorize_request(
        &self,
        tenant: &Tenant,
        binding: &str,
        id: &str,
    ) -> Result<Option<ParkedRequest>, CoreError> {
        match self
            .take_ceremony(tenant, Purpose::Continue, binding, id)
            .await
        {
            Ok((parked, _)) => Ok(Some(parked)),
            Err(PasskeyError::Core(err)) => Err(err),
            Err(_) => Ok(None),
        }
    }

    /// Keeps a started ceremony (`state`) under the challenge of its `options` and returns
    /// what the client needs: the options as JSON, and the ceremony's id.
    pub(super) async fn ceremony_started(
        &self,
        tenant: &Tenant,
        purpose: Purpose,
        binding: &str,
        user: Option<UserId>,
        options: &impl Serialize,
        state: &impl Serialize,
    ) -> Result<PasskeyOptions, CoreError> {
        let public_key = options_json(options)?;
        let challenge = challenge_in(&public_key)?;
        let until = self.now() + CHALLENGE_LIFETIME_SECS;
        let challenge_id = self
            .keep_ceremony(tenant, purpose, binding, user, &challenge, state, until)
            .await?;
        Ok(PasskeyOptions {
            challenge_id,
            public_key,
        })
    }

    /// Takes a ceremony back (once): only for the purpose and binding it was started with.
    pub(super) async fn take_ceremony<T: DeserializeOwned>(
        &self,
        tenant: &Tenant,
        purpose: Purpose,
        binding: &str,
        id: &str,
    ) -> Result<(T, Option<UserId>), PasskeyError> {
        let Some(record) = self
            .store
            .take_webauthn_challenge(tenant.id, id, self.now())
            .await?
        else {
            return Err(PasskeyError::ChallengeGone);
        };
        if record.purpose != purpose.as_str()
            || !crate::secret::constant_time_eq(record.binding.as_bytes(), binding.as_bytes())
        {
            return Err(PasskeyError::ChallengeGone);
        }
        let state = serde_json::from_str(&record.state)
            .map_err(|e| CoreError::Internal(format!("ceremony state: {e}")))?;
        Ok((state, record.user_id))
    }
}

/// The challenge of a ceremony's options (base64url), which names the ceremony.
fn challenge_in(options: &serde_json::Value) -> Result<String, CoreError> {
    options
        .get("challenge")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CoreError::Internal("passkey options without a challenge".into()))
}

/// The options a client takes, as JSON.
fn options_json(options: &impl Serialize) -> Result<serde_json::Value, CoreError> {
    serde_json::to_value(options).map_err(|e| CoreError::Internal(format!("passkey options: {e}")))
}
