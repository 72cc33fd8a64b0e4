//! The sign-in engine's state machine: pure, no IO.
//!
//! A [`Flow`] is one sign-in, sign-up or password reset in progress. Front doors (hosted pages,
//! the native-authentication API) turn what a person submitted into an [`Event`];
//! [`Flow::handle`] moves the flow to its next [`Step`] and answers with [`Effect`]s for the
//! driver (`signin::flows`) to carry out: look up a user, check a password, send a code. Each
//! effect's result comes back as another event. So every flow rule is here, once, and every
//! transition is unit-tested without a database.

mod codes;
mod collection;
mod contact;
mod events;
mod machine;
mod passkey;
#[cfg(test)]
mod properties;
mod second_factor;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use contact::{mask_email, mask_phone, normalize_phone};
pub use events::{
    AttributeReview, CodeCheck, CollectionStart, CredentialProblem, Effect, Event, MessageKind,
    PasskeyFacts, PasskeyProblem,
};
use serde::{Deserialize, Serialize};

use crate::directory::{AttributeError, MfaMethod, UserFlowConfig};
use crate::ids::{AuthMethodId, ClientId, OtpChallengeId, UserId};

/// What the person set out to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Journey {
    /// Sign in to an existing account.
    SignIn,
    /// Create an account.
    SignUp,
    /// Reset a forgotten password.
    ResetPassword,
}

/// Where a flow stands: what it waits for next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Waiting for the email address.
    Identify,
    /// Sign-in: waiting for the password (or a switch to an emailed code).
    Password,
    /// Sign-in: waiting for the emailed sign-in code.
    SignInCode,
    /// Sign-in (a flow whose only method is the passkey): waiting for a passkey of the
    /// account the address named.
    Passkey,
    /// Sign-up: waiting for the code that proves the address.
    VerifyEmail,
    /// Sign-up or reset: waiting for a new password.
    NewPassword,
    /// Sign-up: waiting for the attributes the flow collects.
    Attributes,
    /// Reset: waiting for the emailed code.
    ResetCode,
    /// MFA: the user has several second factors; waiting for a choice.
    ChooseSecondFactor,
    /// MFA: waiting for a code from this method (or a recovery code).
    SecondFactor {
        /// The method.
        method: AuthMethodId,
        /// Its kind.
        kind: MfaMethod,
    },
    /// Just-in-time registration: the user has no second factor; waiting for a choice.
    ChooseEnrolment,
    /// Registration of SMS: waiting for the phone number.
    EnrolPhone,
    /// Registration: waiting for the code sent to the new contact.
    VerifyEnrolment {
        /// Email or SMS.
        kind: MfaMethod,
        /// The address or number being proven.
        target: String,
    },
    /// Registration of an authenticator app: waiting for its first code.
    EnrolTotp,
    /// Registration of a passkey (the browser's ceremony): waiting for the authenticator.
    EnrolPasskey,
    /// Registration done; recovery codes were shown once; waiting for the person to go on.
    RecoveryCodes,
    /// The user is authenticated; waiting for them to consent to these delegated scopes of
    /// the flow's [`ConsentAsk`] (or to decline).
    Consent {
        /// The scopes asked, by name (of the ask's API).
        scopes: Vec<String>,
    },
    /// The user declined the consent: the app hears `access_denied`. The flow ends here.
    Declined,
    /// Sign-up: a custom authentication extension blocked it (the page shows its message,
    /// or a default one). The flow ends here.
    Blocked {
        /// The extension's message.
        message: Option<String>,
    },
    /// The user is authenticated.
    Done,
}

impl Step {
    /// A stable name (for templates, logs and continuation-token binding).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::Password => "password",
            Self::SignInCode => "sign_in_code",
            Self::Passkey => "passkey",
            Self::VerifyEmail => "verify_email",
            Self::NewPassword => "new_password",
            Self::Attributes => "attributes",
            Self::ResetCode => "reset_code",
            Self::ChooseSecondFactor => "choose_second_factor",
            Self::SecondFactor { .. } => "second_factor",
            Self::ChooseEnrolment => "choose_enrolment",
            Self::EnrolPhone => "enrol_phone",
            Self::VerifyEnrolment { .. } => "verify_enrolment",
            Self::EnrolTotp => "enrol_totp",
            Self::EnrolPasskey => "enrol_passkey",
            Self::RecoveryCodes => "recovery_codes",
            Self::Consent { .. } => "consent",
            Self::Declined => "declined",
            Self::Blocked { .. } => "blocked",
            Self::Done => "done",
        }
    }
}

/// How the first factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstFactor {
    /// The account's password.
    Password,
    /// A code sent to the account's email (sign-in code, sign-up verification, reset).
    EmailCode,
    /// A passkey.
    Passkey {
        /// The authenticator verified the person (PIN, biometrics): two factors in one.
        user_verified: bool,
        /// Bound to one device (`hwk`), not synced (`swk`).
        hardware_bound: bool,
    },
}

/// What the engine knows of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    /// Object id.
    pub id: UserId,
    /// Disabled accounts cannot finish signing in.
    pub enabled: bool,
    /// Whether the account has a password.
    pub has_password: bool,
}

/// A registered second factor, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodFacts {
    /// Id.
    pub id: AuthMethodId,
    /// Kind.
    pub kind: MfaMethod,
    /// Where codes go (email address or phone number); none for an authenticator app.
    pub target: Option<String>,
}

impl MethodFacts {
    /// The masked target, safe to show (`j***e@ex*****.com`, `+*******4567`).
    pub fn label(&self) -> Option<String> {
        self.target.as_deref().map(|t| match self.kind {
            MfaMethod::Sms => mask_phone(t),
            _ => mask_email(t),
        })
    }
}

/// What a flow must get the user's consent to before it finishes: delegated scopes of one API
/// that the request asks for and no administrator granted to the client. Set by the driver
/// when the flow starts, from the authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAsk {
    /// The API whose scopes they are.
    pub api: ClientId,
    /// The scopes, by name.
    pub scopes: Vec<String>,
    /// Ask even for what the user consented to before (`prompt=consent`).
    #[serde(default)]
    pub always: bool,
    /// Scopes among those asked that an administrator granted (asked again only with
    /// `always`): never recorded as the user's own consent, so revoking the grant is not
    /// undone by it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted: Vec<String>,
    /// The user consented (or had consented to everything asked before).
    #[serde(default)]
    pub settled: bool,
}

/// One sign-in, sign-up or password reset in progress. Serialised into the store between
/// requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// What the person set out to do.
    pub journey: Journey,
    /// Where it stands.
    pub step: Step,
    /// The normalised email address, once given.
    #[serde(default)]
    pub email: Option<String>,
    /// The account, once known (sign-in, reset) or created (sign-up).
    #[serde(default)]
    pub user: Option<UserFacts>,
    /// No account can come of this flow (sign-up of a taken address, a code for an address
    /// without an account): it behaves like any other flow, but its codes were never sent, so
    /// nobody learns from the pages whether an account exists.
    #[serde(default)]
    pub decoy: bool,
    /// The live code challenge of the current step.
    #[serde(default)]
    pub challenge: Option<OtpChallengeId>,
    /// How the first factor was proven.
    #[serde(default)]
    pub first_factor: Option<FirstFactor>,
    /// The email address was proven in this flow.
    #[serde(default)]
    pub email_verified: bool,
    /// Sign-up and reset: the chosen password, already hashed (argon2id), until it is stored.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Sign-up: collected attributes, validated.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Sign-up: the attributes step was completed.
    #[serde(default)]
    pub attributes_done: bool,
    /// Sign-up: the attribute-collection-start extension was asked (or none serves).
    #[serde(default)]
    pub collection_started: bool,
    /// Sign-up: the attribute-collection-submit extension accepted the attributes.
    #[serde(default)]
    pub collection_approved: bool,
    /// Sign-up: values an extension gave for the attribute fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prefill: BTreeMap<String, String>,
    /// The user's registered second factors, once loaded.
    #[serde(default)]
    pub methods: Vec<MethodFacts>,
    /// Registration of an authenticator app: its secret, sealed by the master key.
    #[serde(default)]
    pub pending_totp: Option<String>,
    /// A second factor was proven (or registered) in this flow.
    #[serde(default)]
    pub mfa_done: bool,
    /// Its kind (a recovery code counts as the kind of the factor it stood in for), which the
    /// session records: a session serves another app's flow only with a kind it accepts.
    #[serde(default)]
    pub second_factor: Option<MfaMethod>,
    /// "Keep me signed in".
    #[serde(default)]
    pub keep_signed_in: bool,
    /// Wrong codes entered at the second-factor step.
    #[serde(default)]
    pub second_factor_failures: u32,
    /// Phone numbers this flow sent a registration text to.
    #[serde(default)]
    pub texted_numbers: Vec<String>,
    /// The consent the flow must get before it finishes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentAsk>,
}

/// Distinct phone numbers one flow may text a registration code to.
pub const MAX_NUMBERS_PER_FLOW: usize = 3;

/// Wrong second-factor codes one flow may take; the next ends it.
pub const MAX_WRONG_SECOND_FACTOR_CODES: u32 = 5;

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Shorter than 8 characters.
    TooShort,
    /// Longer than 256 characters.
    TooLong,
    /// On the list of breached or common passwords, or made of the email address.
    Banned,
    /// One of the account's recent passwords.
    RecentlyUsed,
    /// Too many new passwords tried from this client or for this account (each costs several
    /// hashes): told as [`Problem::RateLimited`].
    RateLimited,
}

/// What went wrong with the last event; the flow stays on its step. The front door decides how
/// to say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not an email address.
    InvalidEmail,
    /// The flow does not allow sign-up.
    SignUpDisabled,
    /// No account with this address (only where the wire contract forces saying so).
    UserNotFound,
    /// An account with this address exists (only where the wire contract forces saying so).
    UserExists,
    /// The password check failed.
    Credentials(CredentialProblem),
    /// The account is disabled.
    AccountDisabled,
    /// Wrong code.
    WrongCode {
        /// Tries left, when limited.
        attempts_left: Option<u32>,
    },
    /// The code expired: ask for a new one.
    CodeExpired,
    /// The code is used up (too many tries or replaced): ask for a new one.
    CodeDead,
    /// Too many checks.
    RateLimited,
    /// Too many codes requested; wait this many seconds.
    SendThrottled {
        /// Seconds.
        retry_after_secs: i64,
    },
    /// The new password was refused.
    Password(PasswordProblem),
    /// Attribute values were refused.
    Attributes(Vec<AttributeError>),
    /// A custom authentication extension refused the attributes, in its own words.
    AttributesRefused {
        /// The page's message.
        message: Option<String>,
        /// Attribute → what is wrong with it.
        errors: BTreeMap<String, String>,
    },
    /// Not a phone number in international form.
    InvalidPhone,
    /// A number in a country the tenant does not text.
    PhoneCountryNotAllowed,
    /// MFA is required but no method this flow offers can serve this user.
    NoSecondFactor,
    /// Too many wrong second-factor codes in this flow: it has ended; start again.
    TooManyWrongCodes,
    /// The passkey did not sign in.
    Passkey(PasskeyProblem),
    /// Too many wrong second-factor codes lately: the factor is locked for a while.
    SecondFactorLocked,
    /// This flow (or this user, lately) asked to register too many phone numbers.
    TooManyPhoneNumbers,
}

/// An event this step does not take (a stale page, a replayed request, a client out of order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} is not expected at step {step}")]
pub struct Illegal {
    /// The step.
    pub step: &'static str,
    /// The event.
    pub event: &'static str,
}

/// The engine's answer to one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaction {
    /// For the driver to carry out, in order; each result comes back as an event.
    pub effects: Vec<Effect>,
    /// What went wrong, if anything.
    pub problem: Option<Problem>,
}

/// The rules a flow runs under.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The user flow serving the app.
    pub config: &'a UserFlowConfig,
    /// Whether answers may reveal that an account exists or not. Off on the hosted pages; on
    /// only where a wire contract forces it (the native API's `user_not_found`).
    pub reveal_accounts: bool,
    /// Country calling codes the tenant texts (empty: anywhere).
    pub sms_countries: &'a [String],
}

impl Flow {
    /// A new flow at its first step.
    pub fn new(journey: Journey) -> Self {
        Self {
            journey,
            step: Step::Identify,
            email: None,
            user: None,
            decoy: false,
            challenge: None,
            first_factor: None,
            email_verified: false,
            password_hash: None,
            attributes: BTreeMap::new(),
            attributes_done: false,
            collection_started: false,
            collection_approved: false,
            prefill: BTreeMap::new(),
            methods: Vec::new(),
            pending_totp: None,
            mfa_done: false,
            second_factor: None,
            keep_signed_in: false,
            second_factor_failures: 0,
            texted_numbers: Vec::new(),
            consent: None,
        }
    }

    /// Whether the user is authenticated.
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Where the code this step waits for was sent (an email address or phone number); none
    /// when the step waits for no delivered code.
    pub fn code_recipient(&self) -> Option<&str> {
        match &self.step {
            Step::SignInCode | Step::VerifyEmail | Step::ResetCode => self.email.as_deref(),
            Step::SecondFactor { method, .. } => self
                .methods
                .iter()
                .find(|m| m.id == *method)
                .and_then(|m| m.target.as_deref()),
            Step::VerifyEnrolment { target, .. } => Some(target),
            _ => None,
        }
    }

    /// Authentication methods references (RFC 8176) for the tokens.
    pub fn amr(&self) -> Vec<&'static str> {
        let mut amr = Vec::new();
        match self.first_factor {
            Some(FirstFactor::Password) => amr.push("pwd"),
            Some(FirstFactor::EmailCode) => {
                amr.push("otp");
                if self.password_hash.is_some() {
                    amr.push("pwd");
                }
            }
            // RFC 8176: a proof-of-possession key, hardware- or software-secured.
            Some(FirstFactor::Passkey { hardware_bound, .. }) => {
                amr.push(if hardware_bound { "hwk" } else { "swk" });
            }
            None => {}
        }
        if self.mfa_done {
            amr.push("mfa");
        }
        amr
    }
}
