//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): a tenant's system of record (an HR tool,
//! Entra ID, a CRM) creates, changes and removes its users and groups. `tokens.rs` holds the
//! bearer tokens provisioning clients present, one set per tenant.

mod tokens;

pub use tokens::{MAX_SCIM_TOKEN_DAYS, ScimCaller};
