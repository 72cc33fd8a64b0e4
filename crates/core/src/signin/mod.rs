//! The sign-in engine. Every front door (hosted pages now; the native API, device-code page and
//! federation callbacks later) checks credentials and starts sessions through these calls, so
//! rate limits, lockout and session rules are written once.

mod password;
mod session;

pub use password::SignInError;
pub use session::ActiveSession;
