//! Groups: named sets of users and other groups, provisioned over SCIM or made by an
//! operator; membership is what the `groups` claim and group role assignments read.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId, UserId};
use crate::store::{AuditEntry, ScimQuery};

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberKind {
    /// A user.
    User,
    /// A group (nested).
    Group,
}

impl MemberKind {
    /// SCIM's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Member {
    /// The user's or group's id.
    pub id: String,
    /// User or group.
    pub kind: MemberKind,
    /// Its display name (a user's display name or email, a group's name), when read.
    pub display: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Object id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// The provisioning client's id for it.
    pub external_id: Option<String>,
    /// Direct members, when asked for.
    pub members: Vec<Member>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
    /// Bumped by every change: the ETag.
    pub version: i64,
}

/// How a change treats the members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembersChange {
    /// As they are.
    Keep,
    /// Exactly these.
    Replace(Vec<Member>),
    /// These added, these (ids) removed.
    Edit {
        /// New members.
        add: Vec<Member>,
        /// Ids that leave.
        remove: Vec<String>,
    },
}

/// A group's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The group.
    pub id: String,
    /// The version the writer saw (`None`: whatever it is).
    pub expected: Option<i64>,
    /// New name.
    pub display_name: String,
    /// New external id.
    pub external_id: Option<String>,
    /// What happens to the members.
    pub members: MembersChange,
    /// When.
    pub at: UnixTime,
}

/// A user's group, for the User resource's read-only `groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    /// The user.
    pub user: UserId,
    /// The group's id.
    pub group: String,
    /// The group's name.
    pub display_name: String,
    /// Whether the user is in it directly (else through a nested group).
    pub direct: bool,
}

/// An app role held by a group: its members, and members of groups nested in it, hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRoleAssignment {
    /// The API whose role it is.
    pub api_client_id: ClientId,
    /// The group.
    pub group_id: String,
    /// The role's name.
    pub role: String,
}

/// Storage of groups (part of [`super::Store`]).
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Creates a group with its members, and the audit entry, in one transaction;
    /// [`StoreError::NotFound`] if a member is not a user or group of the tenant.
    async fn create_group(&self, group: &GroupRecord, audit: &AuditEntry)
    -> Result<(), StoreError>;
    /// A group, with its members if `members`.
    async fn group(
        &self,
        tenant: TenantId,
        id: &str,
        members: bool,
    ) -> Result<Option<GroupRecord>, StoreError>;
    /// How many groups match, and the page asked for (with members if `members`).
    async fn groups(
        &self,
        tenant: TenantId,
        query: &ScimQuery,
        members: bool,
    ) -> Result<(u64, Vec<GroupRecord>), StoreError>;
    /// Changes a group if its version is still the expected one ([`StoreError::Contended`]
    /// else); returns the new version. Members are checked like [`Self::create_group`]'s; a
    /// group cannot contain itself.
    async fn change_group(
        &self,
        change: &GroupChange,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;
    /// Deletes a group (its memberships in other groups too).
    async fn delete_group(
        &self,
        tenant: TenantId,
        id: &str,
        expected: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Assigns an app role to a group (a repeat changes nothing); [`StoreError::NotFound`]
    /// if the group is not the tenant's.
    async fn assign_group_role(
        &self,
        tenant: TenantId,
        assignment: &GroupRoleAssignment,
        at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Takes an app role from a group; false if it did not hold it.
    async fn unassign_group_role(
        &self,
        tenant: TenantId,
        assignment: &GroupRoleAssignment,
    ) -> Result<bool, StoreError>;
    /// The roles of one API that groups hold, by role then group.
    async fn group_role_assignments(
        &self,
        tenant: TenantId,
        api_client_id: ClientId,
    ) -> Result<Vec<GroupRoleAssignment>, StoreError>;
    /// The groups of these users, direct and through nested groups.
    async fn groups_of_users(
        &self,
        tenant: TenantId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError>;
}
