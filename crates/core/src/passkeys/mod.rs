//! Passkeys (WebAuthn): the tenant's policy, and the two ceremonies, registration and
//! authentication, for every front door alike (the hosted pages, the security page, the
//! native API). The WebAuthn checks themselves are webauthn-rs's; this module holds the
//! relying party's rules around them: single-use challenges bound to what started them, the
//! user handle random per user, the AAGUID lists, and what a counter that goes backwards does.

mod authentication;
mod ceremony;
mod error;
mod policy;
mod registration;

pub use authentication::{PasskeyAssertion, PasskeyUser};
pub use ceremony::{CHALLENGE_LIFETIME_SECS, PasskeyOptions, challenge_of};
pub use error::PasskeyError;
pub use policy::{
    Attestation, CounterRegression, PasskeyAlgorithm, PasskeyPolicy, UserVerification, rp_id_covers,
};
pub use registration::Passkey;
