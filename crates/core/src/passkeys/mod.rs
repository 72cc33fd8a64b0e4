//! Passkeys (WebAuthn): the tenant's policy, and the two ceremonies, registration and
//! authentication, for every front door alike (the hosted pages, the security page, the
//! native API). The WebAuthn checks themselves are webauthn-rs's; this module holds the
//! relying party's rules around them: single-use challenges bound to what started them, the
//! user handle random per user, the AAGUID lists, and what a counter that goes backwards does.

mod answer;
mod authentication;
mod ceremony;
mod error;
mod policy;
mod registration;

pub use answer::{assertion_of, authenticator_model, challenge_of, credential_id, registration_of};
pub use authentication::{PasskeyAssertion, PasskeyUser};
pub use ceremony::{CHALLENGE_LIFETIME_SECS, ParkedRequest, PasskeyOptions};
pub use error::PasskeyError;
pub use policy::{
    Attestation, CounterRegression, PasskeyAlgorithm, PasskeyPolicy, UserVerification, rp_id_covers,
};
pub use registration::Passkey;
