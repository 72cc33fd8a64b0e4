//! A group PATCH (RFC 7644 §3.5.2): its operations, applied in order to a `GroupEdit` that
//! collects the members to add and remove (a group of many members is never loaded or
//! rewritten whole unless a filter on its members needs them).

use std::collections::HashSet;

use serde_json::{Value, json};

use super::ScimProblem;
use super::filter::{CompValue, CompareOp, Filter, parse_patch_path};
use super::groups::{external_id, group_name, members};
use super::patch::matches;
use super::schema::{GROUP, GROUP_SCHEMA, find};
use crate::Portico;
use crate::directory::Tenant;
use crate::store::{Member, MembersChange};

/// A PATCH body's operations: `(op, path, value)`, op lower-cased.
pub(super) fn operations(
    body: &Value,
) -> Result<Vec<(String, Option<String>, Value)>, ScimProblem> {
    let list = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimProblem::InvalidSyntax("Operations is a non-empty list".into()))?;
    if list.len() > super::MAX_PATCH_OPERATIONS {
        return Err(ScimProblem::TooMany(format!(
            "at most {} operations per PATCH",
            super::MAX_PATCH_OPERATIONS
        )));
    }
    list.iter()
        .map(|op| {
            let kind = op
                .get("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .filter(|o| ["add", "replace", "remove"].contains(&o.as_str()))
                .ok_or_else(|| ScimProblem::InvalidSyntax("op is add, replace or remove".into()))?;
            let path = match op.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => return Err(ScimProblem::InvalidPath("path is a string".into())),
            };
            Ok((kind, path, op.get("value").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

/// A group PATCH under way.
pub(super) struct GroupEdit {
    pub(super) display_name: String,
    pub(super) external_id: Option<String>,
    pub(super) members: MembersChange,
    /// The members as they stand, loaded only if a filter needs them.
    pub(super) loaded: Option<Vec<Member>>,
}

impl GroupEdit {
    fn add(&mut self, new: Vec<Member>) {
        match &mut self.members {
            MembersChange::Keep => {
                self.members = MembersChange::Edit {
                    add: new,
                    remove: Vec::new(),
                }
            }
            MembersChange::Replace(list) | MembersChange::Edit { add: list, .. } => {
                let mut present: HashSet<String> = list.iter().map(|m| m.id.clone()).collect();
                list.extend(new.into_iter().filter(|m| present.insert(m.id.clone())));
            }
        }
    }

    fn remove(&mut self, ids: Vec<String>) {
        let gone: HashSet<&str> = ids.iter().map(String::as_str).collect();
        match &mut self.members {
            MembersChange::Keep => {
                self.members = MembersChange::Edit {
                    add: Vec::new(),
                    remove: ids,
                }
            }
            MembersChange::Replace(list) => list.retain(|m| !gone.contains(m.id.as_str())),
            MembersChange::Edit { add, remove } => {
                add.retain(|m| !gone.contains(m.id.as_str()));
                remove.extend(ids);
            }
        }
    }

    /// Applies one operation.
    pub(super) async fn apply(
        &mut self,
        portico: &Portico,
        tenant: &Tenant,
        id: &str,
        (op, path, value): (String, Option<String>, Value),
    ) -> Result<(), ScimProblem> {
        let Some(path) = path else {
            if op == "remove" {
                return Err(ScimProblem::NoTarget("remove needs a path".into()));
            }
            let Value::Object(fields) = value else {
                return Err(ScimProblem::InvalidValue(
                    "without a path, the value is an object of attributes".into(),
                ));
            };
            for (key, value) in fields {
                Box::pin(self.apply(portico, tenant, id, (op.clone(), Some(key), value))).await?;
            }
            return Ok(());
        };
        let path = parse_patch_path(&path).map_err(|e| ScimProblem::InvalidPath(e.0))?;
        if path
            .attr
            .schema
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(GROUP_SCHEMA))
        {
            return Err(ScimProblem::InvalidPath(format!(
                "{} is not a Group attribute",
                path.attr
            )));
        }
        let name = find(&GROUP, &path.attr.name)
            .map(|a| a.name)
            .or_else(|| {
                path.attr
                    .name
                    .eq_ignore_ascii_case("externalId")
                    .then_some("externalId")
            })
            .or_else(|| path.attr.name.eq_ignore_ascii_case("id").then_some("id"))
            .ok_or_else(|| {
                ScimProblem::InvalidPath(format!("{} is not a Group attribute", path.attr))
            })?;
        match (name, op.as_str()) {
            ("id", _) => Err(ScimProblem::Mutability("id is read-only".into())),
            ("displayName", "remove") => {
                Err(ScimProblem::InvalidValue("displayName is required".into()))
            }
            ("displayName", _) => {
                self.display_name = group_name(&value)?;
                Ok(())
            }
            ("externalId", "remove") => {
                self.external_id = None;
                Ok(())
            }
            ("externalId", _) => {
                self.external_id = external_id(&value)?;
                Ok(())
            }
            (_, "add" | "replace") if path.filter.is_some() => Err(ScimProblem::InvalidPath(
                "a filter on members selects members to remove; add and replace take the members themselves"
                    .into(),
            )),
            (_, "add") => {
                self.add(members(&value)?);
                Ok(())
            }
            (_, "replace") => {
                self.members = MembersChange::Replace(members(&value)?);
                Ok(())
            }
            (_, _) => match &path.filter {
                // Entra: `members[value eq "…"]`, or `members` with the members to go.
                Some(filter) => {
                    let gone = self.matching(portico, tenant, id, filter).await?;
                    self.remove(gone);
                    Ok(())
                }
                None if !value.is_null() => {
                    self.remove(members(&value)?.into_iter().map(|m| m.id).collect());
                    Ok(())
                }
                None => {
                    self.members = MembersChange::Replace(Vec::new());
                    Ok(())
                }
            },
        }
    }

    /// The ids of the members a filter selects.
    async fn matching(
        &mut self,
        portico: &Portico,
        tenant: &Tenant,
        id: &str,
        filter: &Filter,
    ) -> Result<Vec<String>, ScimProblem> {
        // The shape Entra sends needs no read of a group that may be large.
        if let Filter::Compare(path, CompareOp::Eq, CompValue::Str(value)) = filter
            && path.name.eq_ignore_ascii_case("value")
            && path.sub.is_none()
        {
            return Ok(vec![value.clone()]);
        }
        if self.loaded.is_none() {
            let group = portico
                .store
                .group(tenant.id, id, true)
                .await?
                .ok_or(ScimProblem::NotFound("group"))?;
            self.loaded = Some(group.members);
        }
        Ok(self
            .loaded
            .iter()
            .flatten()
            .filter(|m| {
                matches(
                    &json!({"value": m.id, "type": m.kind.as_str(), "display": m.display}),
                    filter,
                )
            })
            .map(|m| m.id.clone())
            .collect())
    }
}
