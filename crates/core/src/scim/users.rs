//! The Users resource: list with filters, read, create, replace, patch and delete, each write
//! checked against the version the client saw (ETags) and recorded in the audit log.

use serde_json::{Value, json};

use super::document::{UserDraft, etag, read, render, rfc3339, scim_attribute_names};
use super::patch::{UserSchema, apply};
use super::query::sort_field;
use super::resource::{ListPage, ListParams, Precondition, ScimResource};
use super::schema::{CustomAttr, custom_attributes};
use super::{ScimCaller, ScimProblem};
use crate::Portico;
use crate::directory::{Tenant, User};
use crate::ids::UserId;
use crate::signin::engine::PasswordProblem;
use crate::signin::{PASSWORD_HISTORY, check_new_password};
use crate::store::{ScimUserRecord, UserGroup};

fn user_id(id: &str) -> Result<UserId, ScimProblem> {
    id.parse().map_err(|_| ScimProblem::NotFound("user"))
}

impl Portico {
    async fn custom_attributes(&self, tenant: &Tenant) -> Result<Vec<CustomAttr>, ScimProblem> {
        let flows = self.cached_user_flows(tenant.id).await?;
        Ok(custom_attributes(&flows))
    }

    fn served(
        &self,
        tenant: &Tenant,
        record: &ScimUserRecord,
        custom: &[CustomAttr],
        groups: &[UserGroup],
    ) -> ScimResource {
        let mut doc = render(record, custom, groups, &self.scim_base(tenant));
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
        let (query, start_index) = params.query(
            |f| super::user_filter_of(f, &custom),
            |s| sort_field(s, &custom),
        )?;
        let (total, records) = self.store.scim_users(tenant.id, &query).await?;
        let ids: Vec<UserId> = records.iter().map(|r| r.user.id).collect();
        let groups = self.store.groups_of_users(tenant.id, &ids).await?;
        Ok(ListPage {
            total,
            start_index,
            resources: records
                .iter()
                .map(|r| self.served(tenant, r, &custom, &groups).doc)
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
        let groups = self
            .store
            .groups_of_users(tenant.id, &[record.user.id])
            .await?;
        Ok(self.served(tenant, &record, &custom, &groups))
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
        caller.writer()?;
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
                password_in_legacy_store: false,
                enabled: draft.active.unwrap_or(true),
                attributes: draft.attributes.clone(),
                created_at: now,
            },
            external_id: draft.external_id.clone(),
            profile: draft.profile.clone(),
            version: 1,
            updated_at: now,
        };
        let audit = self.audit_entry(
            tenant,
            caller.writer()?,
            "user.create",
            &format!("User/{}", record.user.id),
            json!({"userName": record.user.email, "externalId": record.external_id}),
        );
        self.store.create_scim_user(&record, &audit).await?;
        tracing::info!(tenant.id = %tenant.id, user.id = %record.user.id, actor = caller.actor(), "SCIM user created");
        Ok(self.served(tenant, &record, &custom, &[]))
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
        user.enabled = draft.active.unwrap_or(current.user.enabled);
        let record = ScimUserRecord {
            user,
            external_id: draft.external_id,
            profile: draft.profile,
            version: current.version + 1,
            updated_at: self.now().max(current.updated_at),
        };
        let audit = self.audit_entry(
            tenant,
            caller.writer()?,
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
        let groups = self
            .store
            .groups_of_users(tenant.id, &[record.user.id])
            .await?;
        Ok(self.served(tenant, &record, custom, &groups))
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
        caller.writer()?;
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
        caller.writer()?;
        let custom = self.custom_attributes(tenant).await?;
        let current = self.current_user(tenant, id, precondition).await?;
        let mut doc = render(&current, &custom, &[], "");
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
        caller.writer()?;
        let current = self.current_user(tenant, id, precondition).await?;
        let audit = self.audit_entry(
            tenant,
            caller.writer()?,
            "user.delete",
            &format!("User/{}", current.user.id),
            json!({"userName": current.user.email}),
        );
        self.store
            .delete_scim_user(tenant.id, current.user.id, Some(current.version), &audit)
            .await?;
        tracing::info!(tenant.id = %tenant.id, user.id = %current.user.id, actor = caller.actor(), "SCIM user deleted");
        Ok(())
    }
}

impl Portico {
    /// `GET /Me` (RFC 7644 §3.11): the SCIM User of the person a bearer access token of this
    /// tenant was issued for, with the `openid` scope (a token meant to say who someone is,
    /// as at userinfo); `None` when the token is no such live user token here.
    pub async fn scim_me(
        &self,
        tenant: &Tenant,
        bearer: &str,
    ) -> Result<Option<ScimResource>, ScimProblem> {
        let Ok(claims) = self.verify_access_token(tenant, bearer).await else {
            return Ok(None);
        };
        let openid = claims
            .scp
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
        if !openid
            || self
                .check_presentation(tenant, bearer, &claims, crate::oauth::Presentation::Bearer)
                .await
                .is_err()
        {
            return Ok(None);
        }
        match self.scim_get_user(tenant, &claims.oid).await {
            Ok(me) => Ok(Some(me)),
            Err(ScimProblem::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
