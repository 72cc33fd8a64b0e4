//! What Users and Groups share: list parameters and pages, a served resource with its
//! version, `If-Match` preconditions, store errors as SCIM problems, and audit entries.

use serde_json::{Map, Value};

use super::ScimProblem;
use crate::directory::Tenant;
use crate::store::{AuditEntry, ScimField, ScimFilter, ScimQuery};
use crate::{CoreError, Portico, StoreError};

/// The most resources one page holds (advertised as `filter.maxResults`).
pub const MAX_RESULTS: u64 = 200;

/// A list request's parameters (RFC 7644 §3.4.2), as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `filter`.
    pub filter: Option<String>,
    /// `sortBy`.
    pub sort_by: Option<String>,
    /// `sortOrder`: `ascending` (default) or `descending`.
    pub sort_order: Option<String>,
    /// `startIndex`, 1-based (below 1 counts as 1).
    pub start_index: Option<i64>,
    /// `count` (negative counts as 0; capped at [`MAX_RESULTS`]).
    pub count: Option<i64>,
}

/// One page of users.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// How many users match in all.
    pub total: u64,
    /// The 1-based index of the first one here.
    pub start_index: u64,
    /// Their documents.
    pub resources: Vec<Map<String, Value>>,
}

/// A resource as served: its document (with `meta`) and version.
#[derive(Debug, Clone)]
pub struct ScimResource {
    /// The SCIM document.
    pub doc: Map<String, Value>,
    /// The version (the ETag is [`etag`] of it).
    pub version: i64,
}

/// What a client's `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`, or `*`.
    Any,
    /// One of these versions.
    Versions(Vec<i64>),
}

impl Precondition {
    /// Reads an `If-Match` header value (`*`, or ETags such as `W/"3"`).
    pub fn parse(header: Option<&str>) -> Result<Self, ScimProblem> {
        let Some(header) = header.map(str::trim) else {
            return Ok(Self::Any);
        };
        if header == "*" {
            return Ok(Self::Any);
        }
        header
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                tag.strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| {
                        ScimProblem::InvalidVersion(format!("{tag} is not an ETag of this server"))
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self::Versions)
    }

    pub(crate) fn check(&self, version: i64) -> Result<(), ScimProblem> {
        match self {
            Self::Versions(list) if !list.contains(&version) => {
                Err(ScimProblem::PreconditionFailed)
            }
            _ => Ok(()),
        }
    }
}

impl From<StoreError> for ScimProblem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict("group containing itself") => {
                Self::InvalidValue("a group cannot be a member of itself".into())
            }
            StoreError::Conflict(_) => {
                Self::Uniqueness("another user of this tenant has this userName".into())
            }
            StoreError::NotFound("member") => {
                Self::InvalidValue("a member is not a user or group of this tenant".into())
            }
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Contended => Self::PreconditionFailed,
            other => Self::Core(CoreError::Store(other)),
        }
    }
}

impl ListParams {
    /// The store query these parameters ask for, and the 1-based start index; `filter` and
    /// `sort` resolve the names of the resource's schema.
    pub(crate) fn query(
        &self,
        filter: impl FnOnce(&str) -> Result<ScimFilter, ScimProblem>,
        sort: impl FnOnce(&str) -> Result<ScimField, ScimProblem>,
    ) -> Result<(ScimQuery, u64), ScimProblem> {
        let filter = match self
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            Some(text) => Some(filter(text)?),
            None => None,
        };
        let sort = match self.sort_by.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(sort(s)?),
            None => None,
        };
        let descending = match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(ScimProblem::InvalidValue(format!(
                    "sortOrder is ascending or descending, not {other:?}"
                )));
            }
        };
        let start_index = u64::try_from(self.start_index.unwrap_or(1).max(1)).unwrap_or(1);
        let count = u64::try_from(self.count.unwrap_or(100).max(0))
            .unwrap_or_default()
            .min(MAX_RESULTS);
        let query = ScimQuery {
            filter,
            sort,
            descending,
            offset: start_index - 1,
            limit: count,
        };
        Ok((query, start_index))
    }
}

impl Portico {
    /// An audit entry of a change to the tenant's directory, made now by `actor`.
    pub(crate) fn audit_entry(
        &self,
        tenant: &Tenant,
        actor: &str,
        action: &str,
        target: &str,
        detail: Value,
    ) -> AuditEntry {
        AuditEntry {
            tenant_id: tenant.id,
            // Time-ordered, so entries of the same second list in the order they were made.
            id: uuid::Uuid::now_v7().to_string(),
            at: self.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail,
        }
    }

    /// The tenant's audit log from `since`, oldest first, at most `limit` entries.
    pub async fn audit_log(
        &self,
        tenant: &crate::directory::TenantRef,
        since: crate::clock::UnixTime,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.audit_entries(tenant.id, since, limit).await?)
    }

    /// The SCIM base URL of a tenant.
    pub fn scim_base(&self, tenant: &Tenant) -> String {
        format!("{}/{}/scim/v2", self.settings.public_url, tenant.id)
    }
}
