//! Portico's domain: the directory (tenants, applications, users), the sign-in engine, the
//! token pipeline and the OAuth grant rules.
//!
//! This crate does no IO of its own: storage goes through the [`store::Store`] trait, time
//! through [`clock::Clock`], and signing through [`keyring::KeyRing`]. Protocol adapters (the
//! `portico-http` crate) translate wire formats into calls on [`Portico`] and map the errors
//! returned here to wire errors.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod cache;
pub mod clock;
pub mod directory;
pub mod error;
pub mod extensions;
pub mod ids;
pub mod keyring;
pub mod lockout;
pub mod oauth;
pub mod otp;
pub mod outbox;
pub mod passkeys;
pub mod password;
pub mod portico;
pub mod ratelimit;
pub mod scim;
pub mod secret;
pub mod settings;
pub mod signin;
pub mod store;
pub mod tokens;

pub use error::{CoreError, StoreError};
pub use portico::{BrowserDoor, Portico};
pub use settings::Settings;
