//! Signing in with a passkey: discoverable (no username typed: the browser's autofill or a
//! "sign in with a passkey" button) or for a known user (the native API, a second factor).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs_core::proto::RequestAuthenticationExtensions;
use webauthn_rs_core::proto::{AuthenticationState, Credential};

use super::answer::{assertion_of, credential_id};
use super::ceremony::Purpose;
use super::registration::verification;
use super::{CounterRegression, PasskeyError, PasskeyOptions, UserVerification};
use crate::directory::Tenant;
use crate::ids::UserId;
use crate::store::PasskeyUse;
use crate::{CoreError, Portico};

/// Who a passkey sign-in is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyUser {
    /// Anyone: the passkey names its account (discoverable credentials).
    Anyone,
    /// This user: only their passkeys are offered and accepted.
    Known(UserId),
}

/// A passkey sign-in that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyAssertion {
    /// The account.
    pub user_id: UserId,
    /// The passkey used (base64url credential id).
    pub credential_id: String,
    /// The authenticator verified the person: the passkey is then two factors in one.
    pub user_verified: bool,
    /// A passkey bound to one device (`hwk` in `amr`), not a synced one (`swk`).
    pub hardware_bound: bool,
}

impl PasskeyAssertion {
    /// RFC 8176 method values: `hwk` or `swk`, and `mfa` when the person was verified.
    pub fn amr(&self) -> Vec<&'static str> {
        let key = if self.hardware_bound { "hwk" } else { "swk" };
        if self.user_verified {
            vec![key, "mfa"]
        } else {
            vec![key]
        }
    }
}

impl Portico {
    /// Starts a passkey sign-in for `user`; only `binding` (the flow that asked) may finish it.
    pub async fn begin_passkey_sign_in(
        &self,
        tenant: &Tenant,
        user: PasskeyUser,
        binding: &str,
    ) -> Result<PasskeyOptions, CoreError> {
        let (relying_party, policy) = self.relying_party(tenant).await?;
        // The options never list the account's credentials (that would tell who has an
        // account and which keys): every passkey Portico registers is discoverable, so the
        // authenticator finds its own. A known user is recorded with the ceremony instead,
        // and only their passkeys finish it.
        let known = match user {
            PasskeyUser::Anyone => None,
            PasskeyUser::Known(id) => Some(id),
        };
        let builder = relying_party
            .new_challenge_authenticate_builder(
                Vec::new(),
                Some(verification(policy.user_verification)),
            )
            .map_err(|e| CoreError::Internal(format!("passkey sign-in: {e}")))?
            .extensions(Some(RequestAuthenticationExtensions {
                appid: None,
                uvm: Some(true),
                hmac_get_secret: None,
            }))
            .allow_backup_eligible_upgrade(true)
            .hints(None);
        let (options, state) = relying_party
            .generate_challenge_authenticate(builder)
            .map_err(|e| CoreError::Internal(format!("passkey sign-in: {e}")))?;
        self.ceremony_started(
            tenant,
            Purpose::Authenticate,
            binding,
            known,
            &options.public_key,
            &state,
        )
        .await
    }

    /// Finishes a passkey sign-in `binding` started: `response` is the JSON of the
    /// `PublicKeyCredential` from `get()`. Checks the signature, origin, relying party, user
    /// verification and counter, and records the use.
    pub async fn finish_passkey_sign_in(
        &self,
        tenant: &Tenant,
        binding: &str,
        challenge_id: &str,
        response: &str,
    ) -> Result<PasskeyAssertion, PasskeyError> {
        let (state, known): (AuthenticationState, Option<UserId>) = self
            .take_ceremony(tenant, Purpose::Authenticate, binding, challenge_id)
            .await?;
        let response = assertion_of(response)?;
        let id = credential_id(&response);
        let Some(stored) = self.store.passkey(tenant.id, &id).await? else {
            return Err(PasskeyError::UnknownCredential);
        };
        // The passkey is the account's: for a known user it is theirs, and a user handle
        // the authenticator sends is the one registered with it.
        if known.is_some_and(|user| user != stored.user_id) {
            return Err(PasskeyError::UnknownCredential);
        }
        if let Some(handle) = response.get_user_unique_id()
            && URL_SAFE_NO_PAD.encode(handle) != stored.user_handle
        {
            return Err(PasskeyError::UnknownCredential);
        }
        let mut credential: Credential = serde_json::from_str(&stored.credential)
            .map_err(|e| CoreError::Internal(format!("stored passkey: {e}")))?;
        let (relying_party, policy) = self.relying_party(tenant).await?;
        // The counter is judged here, by the tenant's rule, not by the library (which would
        // always refuse): it sees a credential with no counter yet.
        let stored_count = credential.counter;
        credential.counter = 0;
        let result = relying_party
            .authenticate_single_credential(&response, &state, &credential)
            .map_err(|e| match e {
                webauthn_rs_core::error::WebauthnError::UserNotVerified => {
                    PasskeyError::UserVerificationMissing
                }
                other => PasskeyError::Invalid(other.to_string()),
            })?;
        if policy.user_verification == UserVerification::Required && !result.user_verified() {
            return Err(PasskeyError::UserVerificationMissing);
        }
        let count = result.counter();
        if (count > 0 || stored_count > 0) && count <= stored_count {
            tracing::warn!(
                tenant = %tenant.id, user = %stored.user_id, credential = %id,
                stored = stored_count, presented = count,
                "passkey signature counter did not go up: a cloned authenticator?"
            );
            if policy.counter_regression == CounterRegression::Refuse {
                return Err(PasskeyError::CounterWentBack);
            }
        }
        credential.counter = count.max(stored_count);
        credential.backup_state = result.backup_state();
        credential.backup_eligible = result.backup_eligible();
        let used = PasskeyUse {
            credential: serde_json::to_string(&credential)
                .map_err(|e| CoreError::Internal(format!("passkey: {e}")))?,
            sign_count: i64::from(credential.counter),
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            used_at: self.now(),
        };
        let recorded = self
            .store
            .record_passkey_use(tenant.id, &id, stored.sign_count, &used)
            .await?;
        // Another use of this key was recorded meanwhile: two answers raced with one count,
        // as only a cloned key makes them (a key that counts nothing, 0 and 0, changes no
        // count and races with nothing that matters).
        if !recorded && count > 0 {
            tracing::warn!(
                tenant = %tenant.id, user = %stored.user_id, credential = %id,
                "passkey used twice at once with one count: a cloned authenticator?"
            );
            if policy.counter_regression == CounterRegression::Refuse {
                return Err(PasskeyError::CounterWentBack);
            }
        }
        Ok(PasskeyAssertion {
            user_id: stored.user_id,
            credential_id: id,
            user_verified: result.user_verified(),
            // Only an attested key that cannot be synced is known to be in hardware; what an
            // authenticator says of itself unattested could be any software's claim.
            hardware_bound: !credential.backup_eligible
                && super::registration::attested(&credential),
        })
    }
}
