//! Users as SCIM serves them: the account plus what SCIM keeps beside it (external id, the
//! rest of the SCIM document, a version for ETags), queried by filters the store turns into
//! SQL; and the audit log every provisioning change writes in the same transaction.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::User;
use crate::ids::{TenantId, UserId};
use crate::scim::filter::CompareOp;

/// A user with the SCIM data kept beside the account.
#[derive(Debug, Clone)]
pub struct ScimUserRecord {
    /// The account (`userName` is its email, `active` its enabled flag).
    pub user: User,
    /// The provisioning client's id for the user.
    pub external_id: Option<String>,
    /// The SCIM attributes that have no column of their own, by canonical name.
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Bumped by every change: the ETag.
    pub version: i64,
    /// When it last changed.
    pub updated_at: UnixTime,
}

/// What a filter or sort names, resolved from SCIM's attribute names (Users have all of them;
/// Groups have `Id`, `ExternalId`, `DisplayName`, `Created` and `LastModified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimField {
    /// The object id.
    Id,
    /// The sign-in email (stored normalised: lower case).
    UserName,
    /// The provisioning client's id.
    ExternalId,
    /// The display name.
    DisplayName,
    /// Whether sign-in is allowed.
    Active,
    /// Creation time.
    Created,
    /// Last change.
    LastModified,
    /// A key of the user's attributes (built-in and custom).
    Attribute(String),
    /// A location in the SCIM profile document.
    Profile(Vec<String>),
    /// A key of the list element an [`ScimFilter::Any`] is looking at.
    Element(String),
}

/// A value a filter compares with, typed by the attribute it is compared to.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Text; compared ignoring case unless `case_exact`.
    Text {
        /// The text.
        value: String,
        /// Whether case matters.
        case_exact: bool,
    },
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A time (for `meta.created` and `meta.lastModified`).
    Time(UnixTime),
}

/// A filter over a tenant's users or groups, ready to become SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimFilter {
    /// The field has a value.
    Present(ScimField),
    /// The field compares so with the operand.
    Compare(ScimField, CompareOp, Operand),
    /// Not.
    Not(Box<ScimFilter>),
    /// Both.
    And(Box<ScimFilter>, Box<ScimFilter>),
    /// Either.
    Or(Box<ScimFilter>, Box<ScimFilter>),
    /// Some element of a list in the profile matches.
    Any {
        /// The list's location in the profile.
        list: Vec<String>,
        /// The element filter, over [`ScimField::Element`]s.
        element: Box<ScimFilter>,
    },
    /// Group membership matches: for a user, one of the groups it is directly in (elements
    /// `value`: the group's id, `type`: `direct`); for a group, one of its members
    /// (`value`: the member's id, `type`: `User` or `Group`).
    Membership(Box<ScimFilter>),
}

/// One page of a filtered, sorted listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimQuery {
    /// Which users (`None`: all).
    pub filter: Option<ScimFilter>,
    /// Sort key (`None`: by object id, the cheapest stable order).
    pub sort: Option<ScimField>,
    /// Largest first.
    pub descending: bool,
    /// How many matching users to skip.
    pub offset: u64,
    /// How many to return at most (0: just count).
    pub limit: u64,
}

/// One recorded change of the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Unique id.
    pub id: String,
    /// When.
    pub at: UnixTime,
    /// Who: `scim-token:<id>`, `admin-token:<id>`, `cli`.
    pub actor: String,
    /// What: `user.create`, `user.replace`, `user.patch`, `user.delete`, ….
    pub action: String,
    /// On what: `User/<id>`, `Group/<id>`.
    pub target: String,
    /// The change's details (attribute names, never secrets).
    pub detail: serde_json::Value,
}

/// Storage of SCIM's view of users (part of [`super::Store`]).
#[async_trait]
pub trait ScimUserStore: Send + Sync {
    /// One user with the SCIM data kept beside it.
    async fn scim_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<ScimUserRecord>, StoreError>;
    /// How many users match the query's filter, and the page it asks for.
    async fn scim_users(
        &self,
        tenant: TenantId,
        query: &ScimQuery,
    ) -> Result<(u64, Vec<ScimUserRecord>), StoreError>;
    /// Creates a user with its SCIM data, and the audit entry, in one transaction;
    /// [`StoreError::Conflict`] if the email is taken.
    async fn create_scim_user(
        &self,
        record: &ScimUserRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Replaces a user's account data and SCIM data if its version is still `expected`
    /// (else [`StoreError::Contended`]); the stored version becomes `record.version`. A new
    /// password hash (keeping `keep` in the history), a disabled account and a new email all
    /// sign the user out everywhere, in the same transaction, with the audit entry.
    async fn replace_scim_user(
        &self,
        record: &ScimUserRecord,
        expected: i64,
        password: Option<(&str, u32)>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Deletes a user and everything hanging on it, signing it out everywhere first (apps
    /// listening for back-channel logout hear of it), with the audit entry;
    /// [`StoreError::Contended`] if `expected` is given and no longer the version.
    async fn delete_scim_user(
        &self,
        tenant: TenantId,
        user: UserId,
        expected: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// The tenant's audit entries at or after `since`, oldest first, at most `limit`.
    async fn audit_entries(
        &self,
        tenant: TenantId,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
