//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): a tenant's system of record (an HR tool,
//! Entra ID, a CRM) creates, changes and removes its users and groups. `tokens.rs` holds the
//! bearer tokens provisioning clients present, one set per tenant.

mod document;
pub mod filter;
mod group_patch;
mod groups;
mod patch;
mod query;
mod resource;
pub mod schema;
mod tokens;
mod users;

pub use document::{etag, parse_rfc3339, project, rfc3339};
pub use groups::MAX_GROUP_NAME;
pub use patch::MAX_PATCH_OPERATIONS;
pub use resource::{ListPage, ListParams, MAX_RESULTS, Precondition, ScimResource};
pub use tokens::{MAX_SCIM_TOKEN_DAYS, SCIM_READ_ROLE, SCIM_WRITE_ROLE, ScimCaller};

use crate::CoreError;

/// Why a SCIM request cannot be done; each maps to a status and, for a 400, RFC 7644's
/// `scimType` at the edge. Messages are safe to show to the client.
#[derive(Debug, thiserror::Error)]
pub enum ScimProblem {
    /// The filter does not parse or names what cannot be filtered.
    #[error("{0}")]
    InvalidFilter(String),
    /// A PATCH path does not parse or names nothing.
    #[error("{0}")]
    InvalidPath(String),
    /// A value is missing, of the wrong type or breaks a rule.
    #[error("{0}")]
    InvalidValue(String),
    /// The body is not what the request needs.
    #[error("{0}")]
    InvalidSyntax(String),
    /// An attempt to change what clients may not.
    #[error("{0}")]
    Mutability(String),
    /// A PATCH selects nothing to work on.
    #[error("{0}")]
    NoTarget(String),
    /// A value that must be unique is taken.
    #[error("{0}")]
    Uniqueness(String),
    /// More than a limit allows.
    #[error("{0}")]
    TooMany(String),
    /// An `If-Match` that is not an ETag of this server.
    #[error("{0}")]
    InvalidVersion(String),
    /// The caller may read but not change the directory.
    #[error("{0}")]
    Forbidden(String),
    /// The resource changed since the version the client named.
    #[error("the resource changed since the version given in If-Match")]
    PreconditionFailed,
    /// No such resource in this tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Anything else.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Parses a SCIM filter over Users and resolves it to the store's terms (the tenant's custom
/// attributes make up the Portico extension).
pub fn user_filter_of(
    text: &str,
    custom: &[schema::CustomAttr],
) -> Result<crate::store::ScimFilter, ScimProblem> {
    let parsed = filter::parse_filter(text).map_err(|e| ScimProblem::InvalidFilter(e.0))?;
    query::user_filter(&parsed, custom)
}

/// Parses a SCIM filter over Groups and resolves it to the store's terms.
pub fn group_filter_of(text: &str) -> Result<crate::store::ScimFilter, ScimProblem> {
    let parsed = filter::parse_filter(text).map_err(|e| ScimProblem::InvalidFilter(e.0))?;
    query::group_filter(&parsed)
}

/// Applies a PATCH body to a sample user's document and reads the result as a PUT would: for
/// fuzzing, where any body must end in a changed document or a [`ScimProblem`], never a panic.
pub fn patch_user_document(body: &serde_json::Value) -> Result<(), ScimProblem> {
    let mut doc = match serde_json::json!({
        "userName": "sample@example.com",
        "name": {"givenName": "Sample", "formatted": "Sample User"},
        "emails": [{"value": "sample@example.com", "type": "work", "primary": true}],
        schema::ENTERPRISE_SCHEMA: {"manager": {"value": "m-1"}},
        "groups": [{"value": "g-1", "display": "Sample group"}],
    }) {
        serde_json::Value::Object(doc) => doc,
        _ => serde_json::Map::new(),
    };
    patch::apply(&mut doc, body, &patch::UserSchema { custom: &[] })?;
    document::read(&serde_json::Value::Object(doc), &[]).map(|_| ())
}
