//! What happens to a flow and what it asks for: the events it takes (a person's input, an
//! effect's result) and the effects it hands its driver.

use std::collections::BTreeMap;

use super::{FirstFactor, MethodFacts, PasswordProblem, UserFacts};
use crate::directory::MfaMethod;
use crate::ids::{AuthMethodId, OtpChallengeId};
use crate::otp::OtpPurpose;
use crate::outbox::Channel;

/// What happened: something a person submitted, or the result of an [`Effect`].
#[derive(Debug, Clone)]
pub enum Event {
    /// The email address (and, on the hosted page, "keep me signed in").
    Identify {
        /// As typed.
        email: String,
        /// Persistent session wanted.
        keep_signed_in: bool,
    },
    /// The current password (sign-in).
    Password {
        /// As typed.
        password: String,
    },
    /// Sign in with an emailed code instead of the password.
    UseEmailCode,
    /// Send the current step's code again.
    ResendCode,
    /// A code: emailed, texted, or from an authenticator app.
    Code {
        /// As typed.
        code: String,
    },
    /// A recovery code instead of the second factor.
    RecoveryCode {
        /// As typed.
        code: String,
    },
    /// A new password (sign-up, reset).
    NewPassword {
        /// As typed.
        password: String,
    },
    /// Sign-up attributes, as submitted (multi-select values comma-joined).
    Attributes {
        /// Name → raw value.
        values: BTreeMap<String, String>,
    },
    /// A passkey's answer (`navigator.credentials.get()`), to the ceremony the front door
    /// started for this flow.
    Passkey {
        /// The ceremony's id.
        challenge_id: String,
        /// The `PublicKeyCredential`, as JSON.
        response: String,
        /// Persistent session wanted (at the first step, where the box is).
        keep_signed_in: bool,
    },
    /// Use this registered second factor.
    ChooseMethod {
        /// The method.
        method: AuthMethodId,
    },
    /// Register a second factor of this kind.
    Enrol {
        /// The kind.
        kind: MfaMethod,
    },
    /// The phone number to register for SMS.
    Phone {
        /// As typed.
        number: String,
    },
    /// The person saw the recovery codes.
    Acknowledge,
    /// The person's answer on the consent step.
    Consent {
        /// Accepted (else declined).
        accept: bool,
    },
    /// Step-up: the browser's SSO session already proved this user's first factor, but not
    /// the second factor the app's flow requires. Only the driver sends it, from a live
    /// session (`Portico::start_step_up`); no front door makes it from what a person typed.
    SessionFound {
        /// The session's user.
        user: UserFacts,
        /// The account's address.
        email: String,
        /// How the session's user proved the first factor.
        first_factor: FirstFactor,
        /// A second factor of a kind the flow accepts that the session passed, if any: the
        /// flow then asks for none (a session that only needs the user's consent).
        second_factor: Option<MfaMethod>,
    },

    /// Result of [`Effect::LookUpUser`].
    UserLookedUp(Option<UserFacts>),
    /// Result of [`Effect::CheckPassword`].
    PasswordChecked(Result<UserFacts, CredentialProblem>),
    /// Result of [`Effect::CheckPasskey`].
    PasskeyChecked(Result<PasskeyFacts, PasskeyProblem>),
    /// A new passkey's answer (`navigator.credentials.create()`), to register it.
    PasskeyMade {
        /// The ceremony's id.
        challenge_id: String,
        /// The `PublicKeyCredential`, as JSON.
        response: String,
    },
    /// Result of [`Effect::AddPasskey`] when the registration failed.
    PasskeyRefused(PasskeyProblem),
    /// Result of [`Effect::SendCode`].
    CodeSent(Result<OtpChallengeId, i64>),
    /// Instead of [`Event::CodeSent`] for a registration text: the user asked to register too
    /// many numbers lately.
    NumberRefused,
    /// Result of [`Effect::CheckCode`], [`Effect::CheckTotp`], [`Effect::CheckPendingTotp`]
    /// and [`Effect::CheckRecoveryCode`].
    CodeChecked(CodeCheck),
    /// Result of [`Effect::CheckNewPassword`]: the argon2id hash, or why it was refused.
    NewPasswordChecked(Result<String, PasswordProblem>),
    /// Result of [`Effect::CreateUser`].
    UserCreated(UserFacts),
    /// Result of [`Effect::CreateUser`] when another sign-up took the address first.
    AddressTaken,
    /// Result of [`Effect::SetPassword`].
    PasswordSet,
    /// Result of [`Effect::LoadMethods`].
    MethodsLoaded(Vec<MethodFacts>),
    /// Result of [`Effect::MakeTotpSecret`]: the sealed secret.
    TotpSecretMade(String),
    /// Result of [`Effect::AddMethod`]: the method, and whether recovery codes were issued.
    MethodAdded {
        /// The new method.
        method: MethodFacts,
        /// Recovery codes were issued with it (the driver shows them once).
        recovery_codes: bool,
    },
    /// Result of [`Effect::AddMethod`] when the user got a second factor meanwhile (in another
    /// flow): registration without passing one is only for users who have none.
    MethodTaken,
    /// Result of [`Effect::LoadConsent`]: the asked scopes the user has not consented to.
    ConsentLoaded(Vec<String>),
    /// Result of [`Effect::RecordConsent`].
    ConsentRecorded,
    /// Result of [`Effect::StartAttributeCollection`].
    CollectionStarted(CollectionStart),
    /// Result of [`Effect::SubmitAttributes`].
    AttributesReviewed(AttributeReview),
}

/// What a custom authentication extension said before attributes are collected
/// (OnAttributeCollectionStart); `Continue` where no extension serves the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionStart {
    /// Go on.
    Continue,
    /// Show these values in the attribute fields.
    Prefill(BTreeMap<String, String>),
    /// Stop the sign-up with this message (a default one when `None`).
    Block(Option<String>),
}

/// What a custom authentication extension said of the submitted attributes
/// (OnAttributeCollectionSubmit); `Continue` where no extension serves the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeReview {
    /// Keep them.
    Continue,
    /// Replace these values.
    Modify(BTreeMap<String, serde_json::Value>),
    /// Refuse them: a message for the page and one per attribute.
    Refuse {
        /// The page's message.
        message: Option<String>,
        /// Attribute → what is wrong with it.
        errors: BTreeMap<String, String>,
    },
    /// Stop the sign-up with this message.
    Block(Option<String>),
}

/// A passkey sign-in the driver verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyFacts {
    /// The passkey's account.
    pub user: UserFacts,
    /// Its address.
    pub email: String,
    /// The authenticator verified the person.
    pub user_verified: bool,
    /// Bound to one device, not synced.
    pub hardware_bound: bool,
}

/// Why a passkey did not sign in. None of them says whether an account exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyProblem {
    /// The passkey is not registered here (or not to the account the flow is for).
    NotRecognised,
    /// The ceremony expired or was used: the front door starts a new one.
    Expired,
    /// The answer failed the checks (signature, origin, user verification, counter).
    Refused,
    /// Too many tries from this client.
    RateLimited,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Find the account with the flow's email.
    LookUpUser,
    /// Check the flow's email with this password (rate limit, lockout, hash).
    CheckPassword {
        /// As typed.
        password: String,
    },
    /// Verify a passkey's answer to the flow's ceremony; with `user`, only that user's
    /// passkeys count.
    CheckPasskey {
        /// The ceremony's id.
        challenge_id: String,
        /// The `PublicKeyCredential`, as JSON.
        response: String,
        /// The account the flow is for, if it knows one.
        user: Option<crate::ids::UserId>,
        /// The address given has no account: the answer is checked like any other (same
        /// work, same time) and then not recognised, whatever it was.
        decoy: bool,
    },
    /// Register the passkey of the flow's ceremony for the flow's user (the second factor
    /// registered just in time): answered with `MethodAdded`, `MethodTaken` or
    /// `PasskeyRefused`.
    AddPasskey {
        /// The ceremony's id.
        challenge_id: String,
        /// The `PublicKeyCredential`, as JSON.
        response: String,
    },
    /// Issue a code (or, for a decoy, a notice without it) and queue its message.
    SendCode {
        /// What the code is for.
        purpose: OtpPurpose,
        /// Mail or SMS.
        channel: Channel,
        /// Address or number.
        to: String,
        /// What the message says.
        message: MessageKind,
    },
    /// Check a code against the flow's challenge.
    CheckCode {
        /// What it must be for.
        purpose: OtpPurpose,
        /// As typed.
        code: String,
    },
    /// Check an authenticator-app code of a registered method.
    CheckTotp {
        /// The method.
        method: AuthMethodId,
        /// As typed.
        code: String,
    },
    /// Check an authenticator-app code against the secret being registered.
    CheckPendingTotp {
        /// As typed.
        code: String,
    },
    /// Spend a recovery code of the flow's user.
    CheckRecoveryCode {
        /// As typed.
        code: String,
    },
    /// Check a new password against the policy (and the user's history) and hash it.
    CheckNewPassword {
        /// As typed.
        password: String,
    },
    /// Create the account from the flow (email, password hash, attributes), in one
    /// transaction.
    CreateUser,
    /// Store the flow's password hash as the user's password (reset).
    SetPassword,
    /// Load the user's registered second factors.
    LoadMethods,
    /// Make and seal a new authenticator-app secret.
    MakeTotpSecret,
    /// Register a second factor (with recovery codes if it is the user's first).
    AddMethod {
        /// Kind.
        kind: MfaMethod,
        /// Address or number (none for an authenticator app: the pending secret is used).
        target: Option<String>,
    },
    /// Find which scopes of the flow's consent ask the user has not consented to yet (all of
    /// them when it asks always).
    LoadConsent,
    /// Record the user's consent to these scopes of the ask's API, for the flow's client.
    RecordConsent {
        /// The scopes.
        scopes: Vec<String>,
    },
    /// Sign-up: ask the flow's OnAttributeCollectionStart extension (if any) before
    /// attributes are collected.
    StartAttributeCollection,
    /// Sign-up: ask the flow's OnAttributeCollectionSubmit extension (if any) about the
    /// collected attributes, before the account is made.
    SubmitAttributes,
}

/// What a queued message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// The code.
    Code,
    /// "Someone tried to create an account with your address" (to the existing owner).
    AccountExists,
    /// "Someone asked for a code, but no account uses this address".
    NoAccount,
}

/// Why a password sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// Unknown account or wrong password (indistinguishable).
    Invalid,
    /// Locked out after too many failures.
    LockedOut,
    /// The account is disabled.
    Disabled,
    /// Too many attempts from here or against this account.
    RateLimited,
    /// The password was right (a legacy store said so) but must be replaced: reset it.
    ResetRequired,
}

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right.
    Valid,
    /// Wrong; tries left (none for codes without a try limit).
    Wrong {
        /// Tries left before the code dies.
        attempts_left: Option<u32>,
    },
    /// The code expired.
    Expired,
    /// Too many wrong tries, or replaced by a newer code: a new one is needed.
    Dead,
    /// Too many checks from here or against this account.
    RateLimited,
    /// The user's authenticator app and recovery codes are locked for a while after too many
    /// wrong codes (counted across flows and nodes).
    Locked,
}

impl Event {
    /// A stable name, for errors and logs (never the value, which may be a secret).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Identify { .. } => "identify",
            Self::Password { .. } => "password",
            Self::Passkey { .. } => "passkey",
            Self::PasskeyChecked(_) => "passkey_checked",
            Self::PasskeyMade { .. } => "passkey_made",
            Self::PasskeyRefused(_) => "passkey_refused",
            Self::UseEmailCode => "use_email_code",
            Self::ResendCode => "resend_code",
            Self::Code { .. } => "code",
            Self::RecoveryCode { .. } => "recovery_code",
            Self::NewPassword { .. } => "new_password",
            Self::Attributes { .. } => "attributes",
            Self::ChooseMethod { .. } => "choose_method",
            Self::Enrol { .. } => "enrol",
            Self::Phone { .. } => "phone",
            Self::Acknowledge => "acknowledge",
            Self::Consent { .. } => "consent",
            Self::SessionFound { .. } => "session_found",
            Self::UserLookedUp(_) => "user_looked_up",
            Self::PasswordChecked(_) => "password_checked",
            Self::CodeSent(_) => "code_sent",
            Self::NumberRefused => "number_refused",
            Self::CodeChecked(_) => "code_checked",
            Self::NewPasswordChecked(_) => "new_password_checked",
            Self::UserCreated(_) => "user_created",
            Self::AddressTaken => "address_taken",
            Self::PasswordSet => "password_set",
            Self::MethodsLoaded(_) => "methods_loaded",
            Self::TotpSecretMade(_) => "totp_secret_made",
            Self::MethodAdded { .. } => "method_added",
            Self::MethodTaken => "method_taken",
            Self::ConsentLoaded(_) => "consent_loaded",
            Self::ConsentRecorded => "consent_recorded",
            Self::CollectionStarted(_) => "collection_started",
            Self::AttributesReviewed(_) => "attributes_reviewed",
        }
    }
}
