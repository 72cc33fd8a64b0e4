//! Registering a passkey for a signed-in person.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use webauthn_rs_core::proto::RegistrationState;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, COSEAlgorithm, RequestRegistrationExtensions,
    ResidentKeyRequirement, UserVerificationPolicy,
};

use super::answer::{authenticator_model, registration_of};
use super::ceremony::Purpose;
use super::{Attestation, PasskeyAlgorithm, PasskeyError, PasskeyOptions, UserVerification};
use crate::directory::{MfaMethod, MfaPolicy, SignInMethod, Tenant, User};
use crate::store::PasskeyRecord;
use crate::{CoreError, Portico};

/// The longest name a person may give a passkey.
const MAX_NAME_CHARS: usize = 64;

/// A registered passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Passkey {
    /// The credential id (base64url).
    pub credential_id: String,
    /// The name the person gave it.
    pub name: String,
    /// The authenticator model, when it told.
    pub aaguid: Option<String>,
    /// A synced passkey (its key may leave the device).
    pub backup_eligible: bool,
    /// Registered at.
    pub created_at: i64,
    /// Last used to sign in.
    pub last_used_at: Option<i64>,
}

impl From<PasskeyRecord> for Passkey {
    fn from(record: PasskeyRecord) -> Self {
        Self {
            credential_id: record.credential_id,
            name: record.name,
            aaguid: record.aaguid,
            backup_eligible: record.backup_eligible,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
        }
    }
}

pub(super) fn cose(algorithm: PasskeyAlgorithm) -> COSEAlgorithm {
    match algorithm {
        PasskeyAlgorithm::Es256 => COSEAlgorithm::ES256,
        PasskeyAlgorithm::EdDsa => COSEAlgorithm::EDDSA,
        PasskeyAlgorithm::Rs256 => COSEAlgorithm::RS256,
    }
}

pub(super) fn verification(policy: UserVerification) -> UserVerificationPolicy {
    match policy {
        UserVerification::Required => UserVerificationPolicy::Required,
        UserVerification::Preferred => UserVerificationPolicy::Preferred,
    }
}

/// Whether the credential came with an attestation made by a certificate (not none, not the
/// key signing for itself). UNCONFIRMED trust: the chain is not checked against the FIDO
/// metadata roots, which Portico does not ship.
pub(super) fn attested(credential: &webauthn_rs_core::proto::Credential) -> bool {
    use webauthn_rs_core::proto::ParsedAttestationData;
    matches!(
        credential.attestation.data,
        ParsedAttestationData::Basic(_)
            | ParsedAttestationData::AttCa(..)
            | ParsedAttestationData::AnonCa(..)
    )
}

/// A name for a new passkey: the person's, trimmed, or a default.
fn passkey_name(name: Option<&str>) -> Result<String, CoreError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CoreError::Invalid(format!(
            "a passkey's name is at most {MAX_NAME_CHARS} characters, on one line"
        )));
    }
    Ok(name.to_owned())
}

impl Portico {
    /// The random user handle of `user`'s passkeys (the one their passkeys share, or a new
    /// one): never the object id or the email, so an authenticator holds nothing that
    /// names the account elsewhere.
    async fn user_handle(&self, existing: &[PasskeyRecord]) -> Result<String, CoreError> {
        match existing.first() {
            Some(passkey) => Ok(passkey.user_handle.clone()),
            None => {
                let mut bytes = [0u8; 16];
                aws_lc_rs::rand::fill(&mut bytes)
                    .map_err(|_| CoreError::Internal("rng failed".into()))?;
                Ok(URL_SAFE_NO_PAD.encode(bytes))
            }
        }
    }

    /// Starts registering a passkey for `user`. Only what `binding` names (the session or
    /// flow that asked) may finish it.
    pub async fn begin_passkey_registration(
        &self,
        tenant: &Tenant,
        user: &User,
        binding: &str,
    ) -> Result<PasskeyOptions, CoreError> {
        let (relying_party, policy) = self.relying_party(tenant).await?;
        let existing = self.store.passkeys_of(tenant.id, user.id).await?;
        let handle = self.user_handle(&existing).await?;
        let handle_bytes = URL_SAFE_NO_PAD
            .decode(&handle)
            .map_err(|_| CoreError::Internal("unreadable user handle".into()))?;
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .collect::<Vec<_>>();
        let display = user
            .display_name
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or(&user.email);
        let builder = relying_party
            .new_challenge_register_builder(&handle_bytes, &user.email, display)
            .map_err(|e| CoreError::Internal(format!("passkey registration: {e}")))?
            .attestation(match policy.attestation {
                Attestation::None => AttestationConveyancePreference::None,
                Attestation::Direct => AttestationConveyancePreference::Direct,
            })
            .credential_algorithms(policy.algorithms.iter().copied().map(cose).collect())
            // Discoverable: the passkey signs in without a username typed.
            .require_resident_key(true)
            .authenticator_attachment(None)
            .user_verification_policy(verification(policy.user_verification))
            .reject_synchronised_authenticators(false)
            .exclude_credentials(Some(exclude))
            .hints(None)
            .extensions(Some(RequestRegistrationExtensions {
                // No credProtect: at its level 2 a passkey cannot be found without user
                // verification, which a tenant may make optional.
                cred_protect: None,
                uvm: Some(true),
                cred_props: Some(true),
                min_pin_length: None,
                hmac_create_secret: None,
            }));
        let (mut options, state) = relying_party
            .generate_challenge_register(builder)
            .map_err(|e| CoreError::Internal(format!("passkey registration: {e}")))?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
        }
        let state = (state, handle);
        self.ceremony_started(
            tenant,
            Purpose::Register,
            binding,
            Some(user.id),
            &options.public_key,
            &state,
        )
        .await
    }

    /// Finishes a registration `binding` started for `user`: checks the authenticator's
    /// answer (`response`, the JSON of a `PublicKeyCredential` from `create()`) and keeps the
    /// passkey under `name`.
    pub async fn finish_passkey_registration(
        &self,
        tenant: &Tenant,
        user: &User,
        binding: &str,
        challenge_id: &str,
        response: &str,
        name: Option<&str>,
    ) -> Result<Passkey, PasskeyError> {
        let name = passkey_name(name)?;
        let ((state, handle), started_for): ((RegistrationState, String), _) = self
            .take_ceremony(tenant, Purpose::Register, binding, challenge_id)
            .await?;
        if started_for != Some(user.id) {
            return Err(PasskeyError::ChallengeGone);
        }
        let response = registration_of(response)?;
        let (relying_party, policy) = self.relying_party(tenant).await?;
        let credential = relying_party
            .register_credential(&response, &state, None)
            .map_err(|e| match e {
                webauthn_rs_core::error::WebauthnError::UserNotVerified => {
                    PasskeyError::UserVerificationMissing
                }
                other => PasskeyError::Invalid(other.to_string()),
            })?;
        let aaguid = authenticator_model(&response);
        // Lists of models mean something only for a model that attested itself with a
        // certificate; no attestation, or the key signing for itself, could claim any model.
        let listed = !policy.aaguid_allow.is_empty() || !policy.aaguid_deny.is_empty();
        if !policy.admits(aaguid) || (listed && !attested(&credential)) {
            return Err(PasskeyError::AuthenticatorNotAllowed);
        }
        let record = PasskeyRecord {
            tenant_id: tenant.id,
            credential_id: URL_SAFE_NO_PAD.encode(credential.cred_id.as_slice()),
            user_id: user.id,
            user_handle: handle,
            name,
            credential: serde_json::to_string(&credential)
                .map_err(|e| CoreError::Internal(format!("passkey: {e}")))?,
            aaguid: aaguid.map(|m| m.to_string()),
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            sign_count: i64::from(credential.counter),
            created_at: self.now(),
            last_used_at: None,
        };
        if !self.store.add_passkey(&record).await? {
            return Err(PasskeyError::AlreadyRegistered);
        }
        tracing::info!(tenant = %tenant.id, user = %user.id, "passkey registered");
        Ok(record.into())
    }

    /// Whether `user` has a passkey.
    pub async fn has_passkeys(
        &self,
        tenant: &Tenant,
        user: crate::ids::UserId,
    ) -> Result<bool, CoreError> {
        Ok(!self.store.passkeys_of(tenant.id, user).await?.is_empty())
    }

    /// Whether `session` may change its user's passkeys: a sign-in of the last 10 minutes,
    /// and one that passed a second factor where any of the tenant's flows requires one. A
    /// passkey that verifies its person is two factors: a stolen cookie, or a session of a
    /// flow without MFA, must not be able to make one.
    pub async fn may_change_passkeys(
        &self,
        tenant: &Tenant,
        session: &crate::signin::ActiveSession,
    ) -> Result<bool, CoreError> {
        const FRESH_SECS: i64 = 600;
        if session.record.auth_time < self.now() - FRESH_SECS {
            return Ok(false);
        }
        // Read from the store, not the cache: a passkey counts as two factors.
        let mfa_somewhere = self
            .store
            .user_flows(tenant.id)
            .await?
            .iter()
            .any(|flow| flow.config.mfa == MfaPolicy::Required);
        Ok(!mfa_somewhere || session.record.amr.split(' ').any(|m| m == "mfa"))
    }

    /// Removes one of `user`'s passkeys, unless it is their last and some user flow that
    /// offers passkeys would then have no way to sign them in (no password of theirs to
    /// take, no emailed code): the last credential a flow needs stays.
    pub async fn remove_passkey(
        &self,
        tenant: &Tenant,
        user: &User,
        credential_id: &str,
    ) -> Result<(), CoreError> {
        let passkeys = self.store.passkeys_of(tenant.id, user.id).await?;
        if !passkeys.iter().any(|p| p.credential_id == credential_id) {
            return Err(CoreError::NotFound("passkey"));
        }
        if passkeys.len() == 1 {
            let flows = self.store.user_flows(tenant.id).await?;
            let others = self.store.auth_methods(tenant.id, user.id).await?;
            let stranded = flows.iter().any(|flow| {
                let config = &flow.config;
                let methods = &config.methods;
                // No first factor left in a flow that offers passkeys...
                let no_way_in = methods.contains(&SignInMethod::Passkey)
                    && !methods.contains(&SignInMethod::EmailOtp)
                    && !(methods.contains(&SignInMethod::Password) && user.password_hash.is_some());
                // ...or no second factor left where one is required: with none, the next
                // sign-in would let whoever has the password register one of their choosing.
                let no_second = config.mfa == MfaPolicy::Required
                    && config.mfa_methods.contains(&MfaMethod::Passkey)
                    && !others.iter().any(|m| config.mfa_methods.contains(&m.kind));
                no_way_in || no_second
            });
            if stranded {
                return Err(CoreError::Invalid(
                    "this is your only way to sign in: add another passkey first".into(),
                ));
            }
        }
        if !self
            .store
            .remove_passkey(tenant.id, user.id, credential_id)
            .await?
        {
            return Err(CoreError::NotFound("passkey"));
        }
        tracing::info!(tenant = %tenant.id, user = %user.id, "passkey removed");
        Ok(())
    }

    /// `user`'s passkeys, oldest first.
    pub async fn passkeys(&self, tenant: &Tenant, user: &User) -> Result<Vec<Passkey>, CoreError> {
        Ok(self
            .store
            .passkeys_of(tenant.id, user.id)
            .await?
            .into_iter()
            .map(Passkey::from)
            .collect())
    }

    /// Renames one of `user`'s passkeys.
    pub async fn rename_passkey(
        &self,
        tenant: &Tenant,
        user: &User,
        credential_id: &str,
        name: &str,
    ) -> Result<(), CoreError> {
        let name = passkey_name(Some(name))?;
        if self
            .store
            .rename_passkey(tenant.id, user.id, credential_id, &name)
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::NotFound("passkey"))
        }
    }
}
