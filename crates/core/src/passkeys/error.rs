//! Why a passkey ceremony failed.

use crate::CoreError;

/// A passkey ceremony that did not succeed. Each but `Core` is the person's (or their
/// authenticator's) doing and is answered as such; none names an account.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The challenge is unknown, expired, already used, or was started elsewhere.
    #[error("the passkey request expired or was already used; start again")]
    ChallengeGone,
    /// The credential is not registered in this tenant (or not to the expected user).
    #[error("this passkey is not registered here")]
    UnknownCredential,
    /// The authenticator did not verify the person, and the policy requires it.
    #[error("the authenticator did not verify the person (PIN or biometrics)")]
    UserVerificationMissing,
    /// The authenticator model is not allowed by the tenant's policy.
    #[error("this kind of authenticator is not allowed here")]
    AuthenticatorNotAllowed,
    /// The credential is registered already.
    #[error("this passkey is already registered")]
    AlreadyRegistered,
    /// The signature counter did not go up (a cloned authenticator?) and the policy refuses.
    #[error("the passkey's signature counter went backwards")]
    CounterWentBack,
    /// The response failed WebAuthn's checks (origin, relying party, signature, format).
    #[error("the passkey response is not valid: {0}")]
    Invalid(String),
    /// Something inside failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<crate::StoreError> for PasskeyError {
    fn from(err: crate::StoreError) -> Self {
        Self::Core(err.into())
    }
}
