//! The token pipeline: one path from "grant approved" to signed tokens, for every grant.
//! Claim rules (which claims, from which scopes) are written here and nowhere else.

mod claims;
mod groups;
mod pipeline;

pub use claims::{AccessTokenClaims, Confirmation, IdTokenClaims, pairwise_subject};
pub use pipeline::{AppGrant, FrontChannel, IssuedTokens, UserGrant};
