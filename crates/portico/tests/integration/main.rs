//! The one integration test binary: every test starts a real Portico on 127.0.0.1 (its own
//! SQLite file, or its own PostgreSQL schema) and talks HTTP to it, with third-party clients
//! where the protocol allows (the `openidconnect` crate, jsonwebtoken, headless Chromium).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    clippy::type_complexity
)]

mod admin_api;
mod admin_apps;
mod api_access;
mod authorize_errors;
mod browser;
mod cli;
mod cli_apps;
mod cli_tenant;
mod consent;
pub(crate) mod device_code;
mod discovery;
mod double_submit;
mod dpop;
mod dpop_codes;
mod enumeration;
mod extension_events;
mod extension_sign_in;
mod extensions;
mod factor_guessing;
mod group_claims;
mod harness;
mod https;
mod implicit_hybrid;
mod journeys;
mod logout_channels;
mod mfa_bypass;
mod msal_node;
mod native_auth;
mod native_errors;
mod native_mfa;
mod native_register;
mod native_reset;
mod native_sdk;
mod native_signup;
mod node;
mod oidc_client;
mod on_behalf_of;
mod otp_delivery;
mod page;
mod par;
mod passkey_browser;
mod passkey_native;
mod passkey_pages;
mod passkey_security;
mod passkeys;
mod private_key_jwt;
mod registration;
mod rp;
mod scim;
mod scim_bulk;
mod scim_compliance;
mod scim_groups;
mod scim_users;
mod security;
mod sms_pumping;
mod smtp_relay;
mod spa_sdk;
mod store_suite;
mod token_cors;
mod token_errors;
mod token_exchange;
mod token_lifecycle;
