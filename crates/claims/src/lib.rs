#![doc = include_str!("../README.md")]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod events;
mod password;
mod receiver;
mod token;

pub use events::{
    AttributeValue, AuthenticationContext, ClaimValue, ClaimsDecision, Event, EventCommon,
    OtpAction, OtpContext, PasswordAction, SignUpInfo, StartAction, SubmitAction, User,
    parse_event,
};
pub use password::{DecryptionKey, PasswordContext, PasswordContextError};
pub use receiver::{Handler, HandlerError, Receiver, Reply};
pub use token::{
    CalloutToken, ENTRA_AUTHENTICATION_EVENTS_APP, InvalidToken, TokenValidator, TrustedIssuer,
};
