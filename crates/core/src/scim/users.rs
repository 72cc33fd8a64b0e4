//! The Users resource: list with filters, read, create, replace, patch and delete, each write
//! checked against the version the client saw (ETags) and recorded in the audit log.

use serde_json::{Map, Value, json};

use super::document::{UserDraft, etag, read, render, rfc3339, scim_attribute_names};
use super::patch::{UserSchema, apply};
use super::query::sort_field;
use super::schema::{CustomAttr, custom_attributes};
use super::{ScimCaller, ScimProblem};
use crate::directory::{Tenant, User};
use crate::ids::UserId;
use crate::signin::engine::PasswordProblem;
use crate::signin::{PASSWORD_HISTORY, check_new_password};
use crate::store::{AuditEntry, ScimUserRecord, UserQuery};
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

    fn check(&self, version: i64) -> Result<(), ScimProblem> {
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
            StoreError::Conflict(_) => {
                Self::Uniqueness("another user of this tenant has this userName".into())
            }
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Contended => Self::PreconditionFailed,
            other => Self::Core(CoreError::Store(other)),
        }
    }
}

fn user_id(id: &str) -> Result<UserId, ScimProblem> {
    id.parse().map_err(|_| ScimProblem::NotFound("user"))
}

impl Portico {
    async fn custom_attributes(&self, tenant: &Tenant) -> Result<Vec<CustomAttr>, ScimProblem> {
        let flows = self
            .store
            .user_flows(tenant.id)
            .await
            .map_err(CoreError::from)?;
        Ok(custom_attributes(&flows))
    }

    /// The SCIM base URL of a tenant.
    pub fn scim_base(&self, tenant: &Tenant) -> String {
        format!("{}/{}/scim/v2", self.settings.public_url, tenant.id)
    }

    fn served(
        &self,
        tenant: &Tenant,
        record: &ScimUserRecord,
        custom: &[CustomAttr],
    ) -> ScimResource {
        let mut doc = render(record, custom);
        doc.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": rfc3339(record.user.created_at),
                "lastModified": rfc3339(record.updated_at),
                "location": format!("{}/Users/{}", self.scim_base(tenant), record.user.id),
                "version": etag(record.version),
            }),
        );
        ScimResource {
            doc,
            version: record.version,
        }
    }

    fn audit(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        action: &str,
        target: &str,
        detail: Value,
    ) -> AuditEntry {
        AuditEntry {
            tenant_id: tenant.id,
            // Time-ordered, so entries of the same second list in the order they were made.
            id: uuid::Uuid::now_v7().to_string(),
            at: self.now(),
            actor: format!("scim-token:{}", caller.token_id),
            action: action.to_owned(),
            target: target.to_owned(),
            detail,
        }
    }

    /// The custom attributes the tenant's flows collect, for the `Schemas` document.
    pub async fn scim_custom_attributes(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<CustomAttr>, ScimProblem> {
        self.custom_attributes(tenant).await
    }

    /// `GET /Users` and `POST /Users/.search`.
    pub async fn scim_list_users(
        &self,
        tenant: &Tenant,
        params: &ListParams,
    ) -> Result<ListPage, ScimProblem> {
        let custom = self.custom_attributes(tenant).await?;
        let filter = match params
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            Some(text) => Some(super::user_filter_of(text, &custom)?),
            None => None,
        };
        let sort = match params.sort_by.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(sort_field(s, &custom)?),
            None => None,
        };
        let descending = match params
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
        let start_index = u64::try_from(params.start_index.unwrap_or(1).max(1)).unwrap_or(1);
        let count = u64::try_from(params.count.unwrap_or(100).max(0))
            .unwrap_or_default()
            .min(MAX_RESULTS);
        let query = UserQuery {
            filter,
            sort,
            descending,
            offset: start_index - 1,
            limit: count,
        };
        let (total, records) = self.store.scim_users(tenant.id, &query).await?;
        Ok(ListPage {
            total,
            start_index,
            resources: records
                .iter()
                .map(|r| self.served(tenant, r, &custom).doc)
                .collect(),
        })
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<ScimResource, ScimProblem> {
        let custom = self.custom_attributes(tenant).await?;
        let record = self
            .store
            .scim_user(tenant.id, user_id(id)?)
            .await?
            .ok_or(ScimProblem::NotFound("user"))?;
        Ok(self.served(tenant, &record, &custom))
    }

    async fn password_hash(&self, draft: &UserDraft) -> Result<Option<String>, ScimProblem> {
        match &draft.password {
            Some(password) => {
                check_new_password(password, Some(&draft.email)).map_err(|problem| {
                    ScimProblem::InvalidValue(
                        match problem {
                            PasswordProblem::TooShort => {
                                "the password is shorter than 8 characters"
                            }
                            PasswordProblem::TooLong => {
                                "the password is longer than 256 characters"
                            }
                            _ => "the password is too common or made of the email address",
                        }
                        .into(),
                    )
                })?;
                Ok(Some(self.passwords.hash(password.clone()).await?))
            }
            None => Ok(None),
        }
    }

    /// `POST /Users`.
    pub async fn scim_create_user(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        body: &Value,
    ) -> Result<ScimResource, ScimProblem> {
        let custom = self.custom_attributes(tenant).await?;
        let draft = read(body, &custom)?;
        let now = self.now();
        let record = ScimUserRecord {
            user: User {
                id: UserId::new_random(),
                tenant_id: tenant.id,
                email: draft.email.clone(),
                display_name: draft.display_name.clone(),
                password_hash: self.password_hash(&draft).await?,
                enabled: draft.active,
                attributes: draft.attributes.clone(),
                created_at: now,
            },
            external_id: draft.external_id.clone(),
            profile: draft.profile.clone(),
            version: 1,
            updated_at: now,
        };
        let audit = self.audit(
            tenant,
            caller,
            "user.create",
            &format!("User/{}", record.user.id),
            json!({"userName": record.user.email, "externalId": record.external_id}),
        );
        self.store.create_scim_user(&record, &audit).await?;
        tracing::info!(tenant.id = %tenant.id, user.id = %record.user.id, token.id = %caller.token_id, "SCIM user created");
        Ok(self.served(tenant, &record, &custom))
    }

    /// Writes a changed user: the draft replaces what SCIM shows, checked against the version.
    /// `change` is the audit entry's action and detail.
    async fn write_user(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        current: ScimUserRecord,
        draft: UserDraft,
        custom: &[CustomAttr],
        change: (&str, Value),
    ) -> Result<ScimResource, ScimProblem> {
        let (action, detail) = change;
        let password = self.password_hash(&draft).await?;
        let mut user = current.user.clone();
        for name in scim_attribute_names(custom) {
            user.attributes.remove(&name);
        }
        user.attributes.extend(draft.attributes);
        user.email = draft.email;
        user.display_name = draft.display_name;
        user.enabled = draft.active;
        let record = ScimUserRecord {
            user,
            external_id: draft.external_id,
            profile: draft.profile,
            version: current.version + 1,
            updated_at: self.now().max(current.updated_at),
        };
        let audit = self.audit(
            tenant,
            caller,
            action,
            &format!("User/{}", record.user.id),
            detail,
        );
        self.store
            .replace_scim_user(
                &record,
                current.version,
                password.as_deref().map(|h| (h, PASSWORD_HISTORY)),
                &audit,
            )
            .await?;
        Ok(self.served(tenant, &record, custom))
    }

    async fn current_user(
        &self,
        tenant: &Tenant,
        id: &str,
        precondition: &Precondition,
    ) -> Result<ScimUserRecord, ScimProblem> {
        let record = self
            .store
            .scim_user(tenant.id, user_id(id)?)
            .await?
            .ok_or(ScimProblem::NotFound("user"))?;
        precondition.check(record.version)?;
        Ok(record)
    }

    /// `PUT /Users/{id}`.
    pub async fn scim_replace_user(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<ScimResource, ScimProblem> {
        let custom = self.custom_attributes(tenant).await?;
        let current = self.current_user(tenant, id, precondition).await?;
        let draft = read(body, &custom)?;
        let keys: Vec<&String> = body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        self.write_user(
            tenant,
            caller,
            current,
            draft,
            &custom,
            ("user.replace", json!({"attributes": keys})),
        )
        .await
    }

    /// `PATCH /Users/{id}`.
    pub async fn scim_patch_user(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<ScimResource, ScimProblem> {
        let custom = self.custom_attributes(tenant).await?;
        let current = self.current_user(tenant, id, precondition).await?;
        let mut doc = render(&current, &custom);
        apply(&mut doc, body, &UserSchema { custom: &custom })?;
        let draft = read(&Value::Object(doc), &custom)?;
        let paths: Vec<Value> = body
            .get("Operations")
            .and_then(Value::as_array)
            .map(|ops| {
                ops.iter()
                    .map(|op| json!({"op": op.get("op"), "path": op.get("path")}))
                    .collect()
            })
            .unwrap_or_default();
        self.write_user(
            tenant,
            caller,
            current,
            draft,
            &custom,
            ("user.patch", json!({"operations": paths})),
        )
        .await
    }

    /// `DELETE /Users/{id}`: the user and everything hanging on it go; apps listening for
    /// back-channel logout hear of it.
    pub async fn scim_delete_user(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        precondition: &Precondition,
    ) -> Result<(), ScimProblem> {
        let current = self.current_user(tenant, id, precondition).await?;
        let audit = self.audit(
            tenant,
            caller,
            "user.delete",
            &format!("User/{}", current.user.id),
            json!({"userName": current.user.email}),
        );
        self.store
            .delete_scim_user(tenant.id, current.user.id, Some(current.version), &audit)
            .await?;
        tracing::info!(tenant.id = %tenant.id, user.id = %current.user.id, token.id = %caller.token_id, "SCIM user deleted");
        Ok(())
    }
}
