//! Signing keys and their protection at rest.
//!
//! Every signature Portico makes goes through a [`SigningKey`]: a key pair parsed once and kept
//! in memory, so issuing a token costs one signature and nothing else (re-parsing a PKCS#8 RSA
//! key per token costs about two thirds of the throughput). Private keys leave this crate only
//! sealed by a [`MasterKey`] (AES-256-GCM, bound to the key id).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

mod algorithm;
mod error;
mod jwk;
mod jws;
mod master_key;
mod signing_key;

pub use algorithm::SigningAlgorithm;
pub use error::KeyError;
pub use jwk::{Jwk, JwkSet};
pub use jws::{JwsHeader, encode_jws};
pub use master_key::MasterKey;
pub use signing_key::SigningKey;
