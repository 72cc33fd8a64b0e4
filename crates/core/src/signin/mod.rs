//! The sign-in engine. Every front door (hosted pages now; the native API, device-code page and
//! federation callbacks later) checks credentials and starts sessions through these calls, so
//! rate limits, lockout and session rules are written once.

mod continuation;
mod effects;
pub mod engine;
mod flows;
mod messages;
mod password;
mod password_policy;
mod second_factor;
mod session;

pub use continuation::{
    CONTINUATION_LIFETIME_SECS, Continuation, ContinuationError, ResumeError, read_with_fixed_key,
};
pub use flows::{Advanced, Caller, FlowError, FlowOrigin, FlowUser, NativeClient, SignInFlow};
pub use messages::{CodeMessage, MessageTexts, PlainTexts, compose};
pub use password::SignInError;
pub use password_policy::{PASSWORD_HISTORY, check_new_password};
pub use second_factor::{RECOVERY_CODES, TotpEnrolment};
pub use session::ActiveSession;
