//! The Groups resource, and groups for operators (`portico group`, the admin API). Members
//! are users and other groups of the tenant; a PATCH of members adds and removes only those it
//! names, so a group of many members is never rewritten whole.

use serde_json::{Map, Value, json};

use super::document::{etag, rfc3339};
use super::group_patch::{GroupEdit, operations};
use super::query::group_sort_field;
use super::resource::{ListPage, ListParams, Precondition, ScimResource};
use super::schema::GROUP_SCHEMA;
use super::{ScimCaller, ScimProblem};
use crate::directory::{Tenant, TenantRef};
use crate::store::{GroupChange, GroupRecord, Member, MemberKind, MembersChange};
use crate::{CoreError, Portico};

/// The longest group name.
pub const MAX_GROUP_NAME: usize = 256;

/// What a client's Group document says.
struct GroupDraft {
    display_name: String,
    external_id: Option<String>,
    members: Option<Vec<Member>>,
}

pub(super) fn group_name(value: &Value) -> Result<String, ScimProblem> {
    let name = value.as_str().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_GROUP_NAME {
        return Err(ScimProblem::InvalidValue(format!(
            "displayName is 1 to {MAX_GROUP_NAME} characters"
        )));
    }
    Ok(name.to_owned())
}

pub(super) fn external_id(value: &Value) -> Result<Option<String>, ScimProblem> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ScimProblem::InvalidValue("externalId is a string".into())),
    }
}

/// The most members one request names (add more with further PATCH requests).
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;

/// Members as a client lists them: `[{"value": id, "type"?: "User"|"Group"}]`.
pub(super) fn members(value: &Value) -> Result<Vec<Member>, ScimProblem> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimProblem::InvalidValue(format!(
            "at most {MAX_MEMBERS_PER_REQUEST} members per request; add more with PATCH"
        )));
    }
    items
        .iter()
        .map(|item| {
            let id = item
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ScimProblem::InvalidValue("a member has a value: its id".into()))?;
            let kind = match item.get("type").and_then(Value::as_str) {
                Some(t) if t.eq_ignore_ascii_case("group") => MemberKind::Group,
                _ => MemberKind::User,
            };
            Ok(Member {
                id: id.to_owned(),
                kind,
                display: None,
            })
        })
        .collect()
}

fn read_group(body: &Value) -> Result<GroupDraft, ScimProblem> {
    let Value::Object(body) = body else {
        return Err(ScimProblem::InvalidSyntax(
            "a Group is a JSON object".into(),
        ));
    };
    let mut draft = GroupDraft {
        display_name: String::new(),
        external_id: None,
        members: None,
    };
    let mut named = false;
    for (key, value) in body {
        match key.to_ascii_lowercase().as_str() {
            "schemas" | "id" | "meta" => {}
            "displayname" => {
                draft.display_name = group_name(value)?;
                named = true;
            }
            "externalid" => draft.external_id = external_id(value)?,
            "members" => draft.members = Some(members(value)?),
            _ => {
                return Err(ScimProblem::InvalidValue(format!(
                    "{key:?} is not an attribute of {GROUP_SCHEMA}"
                )));
            }
        }
    }
    if !named {
        return Err(ScimProblem::InvalidValue("displayName is required".into()));
    }
    Ok(draft)
}

fn group_id(id: &str) -> Result<String, ScimProblem> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ScimProblem::NotFound("group"))
}

impl Portico {
    fn served_group(
        &self,
        tenant: &Tenant,
        group: &GroupRecord,
        with_members: bool,
    ) -> ScimResource {
        let base = self.scim_base(tenant);
        let mut doc = Map::new();
        doc.insert("schemas".into(), json!([GROUP_SCHEMA]));
        doc.insert("id".into(), group.id.clone().into());
        if let Some(external) = &group.external_id {
            doc.insert("externalId".into(), external.clone().into());
        }
        doc.insert("displayName".into(), group.display_name.clone().into());
        if with_members {
            let members: Vec<Value> = group
                .members
                .iter()
                .map(|m| {
                    let path = match m.kind {
                        MemberKind::User => "Users",
                        MemberKind::Group => "Groups",
                    };
                    json!({
                        "value": m.id,
                        "$ref": format!("{base}/{path}/{}", m.id),
                        "display": m.display,
                        "type": m.kind.as_str(),
                    })
                })
                .collect();
            doc.insert("members".into(), Value::Array(members));
        }
        doc.insert(
            "meta".into(),
            json!({
                "resourceType": "Group",
                "created": rfc3339(group.created_at),
                "lastModified": rfc3339(group.updated_at),
                "location": format!("{base}/Groups/{}", group.id),
                "version": etag(group.version),
            }),
        );
        ScimResource {
            doc,
            version: group.version,
        }
    }

    /// `GET /Groups` and `POST /Groups/.search`; members only if `with_members` (Entra asks
    /// with `excludedAttributes=members`).
    pub async fn scim_list_groups(
        &self,
        tenant: &Tenant,
        params: &ListParams,
        with_members: bool,
    ) -> Result<ListPage, ScimProblem> {
        let (query, start_index) = params.query(super::group_filter_of, group_sort_field)?;
        let (total, groups) = self.store.groups(tenant.id, &query, with_members).await?;
        Ok(ListPage {
            total,
            start_index,
            resources: groups
                .iter()
                .map(|g| self.served_group(tenant, g, with_members).doc)
                .collect(),
        })
    }

    /// `GET /Groups/{id}`.
    pub async fn scim_get_group(
        &self,
        tenant: &Tenant,
        id: &str,
        with_members: bool,
    ) -> Result<ScimResource, ScimProblem> {
        let group = self
            .store
            .group(tenant.id, &group_id(id)?, with_members)
            .await?
            .ok_or(ScimProblem::NotFound("group"))?;
        Ok(self.served_group(tenant, &group, with_members))
    }

    async fn new_group(
        &self,
        tenant: &Tenant,
        actor: &str,
        draft: GroupDraft,
    ) -> Result<GroupRecord, ScimProblem> {
        let now = self.now();
        let group = GroupRecord {
            tenant_id: tenant.id,
            id: uuid::Uuid::new_v4().to_string(),
            display_name: draft.display_name,
            external_id: draft.external_id,
            members: draft.members.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.audit_entry(
            tenant,
            actor,
            "group.create",
            &format!("Group/{}", group.id),
            json!({"displayName": group.display_name, "members": group.members.len()}),
        );
        self.store.create_group(&group, &audit).await?;
        tracing::info!(tenant.id = %tenant.id, group.id = %group.id, actor, "group created");
        Ok(group)
    }

    /// `POST /Groups`.
    pub async fn scim_create_group(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        body: &Value,
    ) -> Result<ScimResource, ScimProblem> {
        caller.writer()?;
        let draft = read_group(body)?;
        let group = self.new_group(tenant, caller.writer()?, draft).await?;
        let group = self
            .store
            .group(tenant.id, &group.id, true)
            .await?
            .ok_or(ScimProblem::NotFound("group"))?;
        Ok(self.served_group(tenant, &group, true))
    }

    async fn current_group(
        &self,
        tenant: &Tenant,
        id: &str,
        precondition: &Precondition,
        with_members: bool,
    ) -> Result<GroupRecord, ScimProblem> {
        let group = self
            .store
            .group(tenant.id, &group_id(id)?, with_members)
            .await?
            .ok_or(ScimProblem::NotFound("group"))?;
        precondition.check(group.version)?;
        Ok(group)
    }

    async fn change(
        &self,
        tenant: &Tenant,
        actor: &str,
        change: GroupChange,
        action: &str,
    ) -> Result<i64, ScimProblem> {
        let detail = match &change.members {
            MembersChange::Keep => json!({"displayName": change.display_name}),
            MembersChange::Replace(m) => {
                json!({"displayName": change.display_name, "members": m.iter().map(|m| &m.id).collect::<Vec<_>>()})
            }
            MembersChange::Edit { add, remove } => json!({
                "displayName": change.display_name,
                "added": add.iter().map(|m| &m.id).collect::<Vec<_>>(),
                "removed": remove,
            }),
        };
        let audit = self.audit_entry(
            tenant,
            actor,
            action,
            &format!("Group/{}", change.id),
            detail,
        );
        Ok(self.store.change_group(&change, &audit).await?)
    }

    /// `PUT /Groups/{id}`: name, external id and (if given) the members are replaced.
    pub async fn scim_replace_group(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<ScimResource, ScimProblem> {
        caller.writer()?;
        let current = self.current_group(tenant, id, precondition, false).await?;
        let draft = read_group(body)?;
        let change = GroupChange {
            tenant_id: tenant.id,
            id: current.id.clone(),
            expected: Some(current.version),
            display_name: draft.display_name,
            external_id: draft.external_id,
            members: MembersChange::Replace(draft.members.unwrap_or_default()),
            at: self.now(),
        };
        self.change(tenant, caller.writer()?, change, "group.replace")
            .await?;
        self.scim_get_group(tenant, &current.id, true).await
    }

    /// `PATCH /Groups/{id}`: returns the new version (the answer is 204, as Entra expects).
    pub async fn scim_patch_group(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<i64, ScimProblem> {
        caller.writer()?;
        let current = self.current_group(tenant, id, precondition, false).await?;
        let mut edit = GroupEdit {
            display_name: current.display_name.clone(),
            external_id: current.external_id.clone(),
            members: MembersChange::Keep,
            loaded: None,
        };
        for operation in operations(body)? {
            edit.apply(self, tenant, &current.id, operation).await?;
        }
        let change = GroupChange {
            tenant_id: tenant.id,
            id: current.id.clone(),
            expected: Some(current.version),
            display_name: edit.display_name,
            external_id: edit.external_id,
            members: edit.members,
            at: self.now(),
        };
        self.change(tenant, caller.writer()?, change, "group.patch")
            .await
    }

    /// `DELETE /Groups/{id}`.
    pub async fn scim_delete_group(
        &self,
        tenant: &Tenant,
        caller: &ScimCaller,
        id: &str,
        precondition: &Precondition,
    ) -> Result<(), ScimProblem> {
        caller.writer()?;
        let current = self.current_group(tenant, id, precondition, false).await?;
        let audit = self.audit_entry(
            tenant,
            caller.writer()?,
            "group.delete",
            &format!("Group/{}", current.id),
            json!({"displayName": current.display_name}),
        );
        self.store
            .delete_group(tenant.id, &current.id, Some(current.version), &audit)
            .await?;
        Ok(())
    }

    /// `portico group create`: a group without members, made by `actor`.
    pub async fn create_group(
        &self,
        tenant: &TenantRef,
        name: &str,
        actor: &str,
    ) -> Result<GroupRecord, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let draft = GroupDraft {
            display_name: group_name(&Value::String(name.to_owned())).map_err(to_core)?,
            external_id: None,
            members: None,
        };
        self.new_group(&tenant, actor, draft).await.map_err(to_core)
    }

    /// `portico group list`: the tenant's groups with their members, by name.
    pub async fn list_groups(&self, tenant: &TenantRef) -> Result<Vec<GroupRecord>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let query = crate::store::ScimQuery {
            filter: None,
            sort: Some(crate::store::ScimField::DisplayName),
            descending: false,
            offset: 0,
            limit: u64::MAX >> 1,
        };
        Ok(self.store.groups(tenant.id, &query, true).await?.1)
    }

    /// `portico group add-member` / `remove-member`: one member in or out, by `actor`.
    pub async fn change_group_member(
        &self,
        tenant: &TenantRef,
        group: &str,
        member: &str,
        add: bool,
        actor: &str,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        let current = self
            .current_group(&tenant, group, &Precondition::Any, false)
            .await
            .map_err(to_core)?;
        let member = Member {
            id: member.to_owned(),
            kind: MemberKind::User,
            display: None,
        };
        let members = if add {
            MembersChange::Edit {
                add: vec![member],
                remove: Vec::new(),
            }
        } else {
            MembersChange::Edit {
                add: Vec::new(),
                remove: vec![member.id],
            }
        };
        let change = GroupChange {
            tenant_id: tenant.id,
            id: current.id,
            expected: None,
            display_name: current.display_name,
            external_id: current.external_id,
            members,
            at: self.now(),
        };
        let action = if add {
            "group.add_member"
        } else {
            "group.remove_member"
        };
        self.change(&tenant, actor, change, action)
            .await
            .map_err(to_core)?;
        Ok(())
    }
}

/// A SCIM problem as an operator's error (the CLI and admin API speak `CoreError`).
fn to_core(problem: ScimProblem) -> CoreError {
    match problem {
        ScimProblem::NotFound(what) => CoreError::NotFound(what),
        ScimProblem::Core(err) => err,
        other => CoreError::Invalid(other.to_string()),
    }
}
