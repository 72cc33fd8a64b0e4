//! PATCH (RFC 7644 §3.5.2) on a resource's SCIM document: each operation changes the
//! document, and the result is read again like a PUT, so a PATCH can leave nothing a PUT could
//! not. Accepts the shapes Microsoft Entra provisioning sends: capitalised `op` values,
//! booleans as strings, path-less `replace` and `add` whose keys are dotted paths
//! (`name.givenName`) or carry a schema URN, and list removal by a `value` list or a filter.

use serde_json::{Map, Value};

use super::ScimProblem;
use super::document::MAX_LIST_LEN;
use super::filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_patch_path};
use super::schema::{
    Attr, COMMON, CustomAttr, ENTERPRISE, ENTERPRISE_SCHEMA, Kind, Mutability, PATCH_OP,
    PORTICO_SCHEMA, USER, USER_SCHEMA, find,
};

/// The most operations one PATCH may carry.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Where an operation points, in canonical names.
struct Target {
    /// `None`: the document's top level; `Some(urn)`: an extension's object.
    container: Option<&'static str>,
    /// The attribute (or, for a whole extension, its URN at the top level).
    attr: String,
    multi: bool,
    complex: bool,
    subs: &'static [Attr],
    sub: Option<String>,
    filter: Option<Filter>,
}

/// The schema a PATCH of Users works on.
pub struct UserSchema<'a> {
    /// The tenant's custom attributes (the Portico extension).
    pub custom: &'a [CustomAttr],
}

/// Applies a PATCH request body to `doc`.
pub fn apply(
    doc: &mut Map<String, Value>,
    body: &Value,
    schema: &UserSchema<'_>,
) -> Result<(), ScimProblem> {
    let Value::Object(body) = body else {
        return Err(ScimProblem::InvalidSyntax(
            "a PATCH body is a JSON object".into(),
        ));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let ok = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP)));
        if !ok {
            return Err(ScimProblem::InvalidSyntax(format!(
                "a PATCH body's schemas name {PATCH_OP}"
            )));
        }
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimProblem::InvalidSyntax("Operations is a non-empty list".into()))?;
    if operations.len() > MAX_PATCH_OPERATIONS {
        return Err(ScimProblem::TooMany(format!(
            "at most {MAX_PATCH_OPERATIONS} operations per PATCH"
        )));
    }
    for operation in operations {
        let Value::Object(operation) = operation else {
            return Err(ScimProblem::InvalidSyntax(
                "an operation is a JSON object".into(),
            ));
        };
        let op = match get_ci(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(op) if op == "add" => Op::Add,
            Some(op) if op == "replace" => Op::Replace,
            Some(op) if op == "remove" => Op::Remove,
            _ => {
                return Err(ScimProblem::InvalidSyntax(
                    "op is add, replace or remove".into(),
                ));
            }
        };
        let value = get_ci(operation, "value");
        match get_ci(operation, "path") {
            None | Some(Value::Null) => path_less(doc, op, value, schema)?,
            Some(Value::String(path)) => {
                let path = parse_patch_path(path).map_err(|e| ScimProblem::InvalidPath(e.0))?;
                let target = resolve(&path, schema)?;
                apply_one(doc, op, &target, value)?;
            }
            Some(_) => return Err(ScimProblem::InvalidPath("path is a string".into())),
        }
    }
    Ok(())
}

/// `add` or `replace` without a path: every key of the value is a path of its own.
fn path_less(
    doc: &mut Map<String, Value>,
    op: Op,
    value: Option<&Value>,
    schema: &UserSchema<'_>,
) -> Result<(), ScimProblem> {
    if op == Op::Remove {
        return Err(ScimProblem::NoTarget("remove needs a path".into()));
    }
    let Some(Value::Object(value)) = value else {
        return Err(ScimProblem::InvalidValue(
            "without a path, the value is an object of attributes".into(),
        ));
    };
    for (key, value) in value {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path = parse_patch_path(key).map_err(|e| ScimProblem::InvalidPath(e.0))?;
        let target = resolve(&path, schema)?;
        apply_one(doc, op, &target, Some(value))?;
    }
    Ok(())
}

fn resolve(path: &PatchPath, schema: &UserSchema<'_>) -> Result<Target, ScimProblem> {
    let attr = &path.attr;
    let unknown = || ScimProblem::InvalidPath(format!("{attr} is not an attribute of a User"));
    let whole = |urn: &'static str| Target {
        container: None,
        attr: urn.to_owned(),
        multi: false,
        complex: true,
        subs: &[],
        sub: attr.sub.clone(),
        filter: None,
    };
    let (container, def): (Option<&'static str>, Option<&'static Attr>) = match &attr.schema {
        Some(s) if format!("{s}:{}", attr.name).eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => {
            return Ok(whole(ENTERPRISE_SCHEMA));
        }
        Some(s) if format!("{s}:{}", attr.name).eq_ignore_ascii_case(PORTICO_SCHEMA) => {
            return Ok(whole(PORTICO_SCHEMA));
        }
        None => (
            None,
            find(&USER, &attr.name).or_else(|| find(&COMMON, &attr.name)),
        ),
        Some(s) if s.eq_ignore_ascii_case(USER_SCHEMA) => (None, find(&USER, &attr.name)),
        Some(s) if s.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => {
            (Some(ENTERPRISE_SCHEMA), find(&ENTERPRISE, &attr.name))
        }
        Some(s) if s.eq_ignore_ascii_case(PORTICO_SCHEMA) => {
            let custom = schema
                .custom
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&attr.name))
                .ok_or_else(unknown)?;
            if attr.sub.is_some() || path.filter.is_some() {
                return Err(unknown());
            }
            return Ok(Target {
                container: Some(PORTICO_SCHEMA),
                attr: custom.name.clone(),
                multi: false,
                complex: false,
                subs: &[],
                sub: None,
                filter: None,
            });
        }
        Some(_) => return Err(unknown()),
    };
    let def = def.ok_or_else(unknown)?;
    if def.mutability == Mutability::ReadOnly {
        return Err(ScimProblem::Mutability(format!(
            "{} is read-only",
            def.name
        )));
    }
    let sub = match path.sub.as_ref().or(attr.sub.as_ref()) {
        Some(sub) => Some(
            find(def.subs, sub)
                .ok_or_else(|| ScimProblem::InvalidPath(format!("{} has no {sub}", def.name)))?
                .name
                .to_owned(),
        ),
        None => None,
    };
    if path.filter.is_some() && !def.multi {
        return Err(ScimProblem::InvalidPath(format!(
            "{} is not a list to filter",
            def.name
        )));
    }
    if sub.is_some() && def.multi && path.filter.is_none() {
        return Err(ScimProblem::InvalidPath(format!(
            "say which of {} with a filter, as in {}[type eq \"work\"]",
            def.name, def.name
        )));
    }
    Ok(Target {
        container,
        attr: def.name.to_owned(),
        multi: def.multi,
        complex: def.kind == Kind::Complex,
        subs: def.subs,
        sub,
        filter: path.filter.clone(),
    })
}

fn container<'a>(
    doc: &'a mut Map<String, Value>,
    target: &Target,
) -> Option<&'a mut Map<String, Value>> {
    match target.container {
        None => Some(doc),
        Some(urn) => object_slot(doc, urn),
    }
}

/// The object under `key`, made one if it is missing or something else.
fn object_slot<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = map.entry(key).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The list under `key`, made one if it is missing or something else.
fn array_slot<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Vec<Value>> {
    let slot = map.entry(key).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

fn apply_one(
    doc: &mut Map<String, Value>,
    op: Op,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimProblem> {
    let needs_value = || {
        value
            .filter(|v| !v.is_null())
            .ok_or_else(|| ScimProblem::InvalidValue(format!("{} needs a value", target.attr)))
    };
    let Some(map) = container(doc, target) else {
        return Ok(());
    };
    let key = existing_key(map, &target.attr).unwrap_or_else(|| target.attr.clone());
    if let Some(filter) = &target.filter {
        return apply_filtered(map, &key, op, filter, target, value);
    }
    match (op, &target.sub) {
        (Op::Remove, None) => {
            let listed = value.filter(|v| !v.is_null());
            match (target.multi, listed, map.get_mut(&key)) {
                // Entra removes members by listing them: only those go.
                (true, Some(listed), Some(Value::Array(items))) => {
                    let listed = as_list(listed);
                    let gone: Vec<&Value> = listed.iter().filter_map(|v| v.get("value")).collect();
                    items.retain(|item| !item.get("value").is_some_and(|v| gone.contains(&v)));
                }
                _ => {
                    map.remove(&key);
                }
            }
        }
        (Op::Remove, Some(sub)) => {
            if let Some(Value::Object(object)) = map.get_mut(&key)
                && let Some(k) = existing_key(object, sub)
            {
                object.remove(&k);
            }
        }
        (_, Some(sub)) => {
            let value = needs_value()?.clone();
            if let Some(object) = object_slot(map, &key) {
                let k = existing_key(object, sub).unwrap_or_else(|| sub.clone());
                object.insert(k, value);
            }
        }
        (Op::Add, None) if target.multi => {
            let value = needs_value()?;
            let adding = as_list(value);
            let existing = map.get(&key).and_then(Value::as_array).map_or(0, Vec::len);
            if adding.len() + existing > MAX_LIST_LEN {
                return Err(ScimProblem::InvalidValue(format!(
                    "{} holds at most {MAX_LIST_LEN} values",
                    target.attr
                )));
            }
            if let Some(items) = array_slot(map, &key) {
                for item in adding {
                    let item = canonical_keys(&item, target.subs);
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            }
        }
        (Op::Replace, None) if target.multi => {
            let value = needs_value()?;
            let items = as_list(value)
                .iter()
                .map(|i| canonical_keys(i, target.subs))
                .collect();
            map.insert(key, Value::Array(items));
        }
        (_, None) if target.complex && value.is_some_and(Value::is_object) => {
            // Sub-attributes given replace theirs; the others stay (RFC 7644 §3.5.2.3).
            let value = canonical_keys(needs_value()?, target.subs);
            if let (Some(object), Value::Object(new)) = (object_slot(map, &key), value) {
                for (k, v) in new {
                    let k = existing_key(object, &k).unwrap_or(k);
                    object.insert(k, v);
                }
            }
        }
        (_, None) => {
            map.insert(key, needs_value()?.clone());
        }
    }
    Ok(())
}

/// An operation on the elements of a list a filter selects.
fn apply_filtered(
    map: &mut Map<String, Value>,
    key: &str,
    op: Op,
    filter: &Filter,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimProblem> {
    let Some(items) = array_slot(map, key) else {
        return Ok(());
    };
    if op == Op::Remove {
        match &target.sub {
            None => items.retain(|item| !matches(item, filter)),
            Some(sub) => {
                for item in items.iter_mut().filter(|i| matches(i, filter)) {
                    if let Value::Object(object) = item
                        && let Some(k) = existing_key(object, sub)
                    {
                        object.remove(&k);
                    }
                }
            }
        }
        return Ok(());
    }
    let value = value
        .filter(|v| !v.is_null())
        .ok_or_else(|| ScimProblem::InvalidValue(format!("{key} needs a value")))?;
    let mut matched = false;
    for item in items.iter_mut().filter(|i| matches(i, filter)) {
        matched = true;
        set_in_element(item, target, value);
    }
    if !matched {
        // Entra replaces `emails[type eq "work"].value` on users who have no work email
        // yet: an equality filter says what the new element is.
        let mut element = Value::Object(equalities(filter).ok_or_else(|| {
            ScimProblem::NoTarget(format!("no element of {key} matches the filter"))
        })?);
        set_in_element(&mut element, target, value);
        items.push(element);
    }
    Ok(())
}

fn set_in_element(item: &mut Value, target: &Target, value: &Value) {
    let Value::Object(object) = item else {
        return;
    };
    match (&target.sub, canonical_keys(value, target.subs)) {
        (Some(sub), _) => {
            let k = existing_key(object, sub).unwrap_or_else(|| sub.clone());
            object.insert(k, value.clone());
        }
        (None, Value::Object(new)) => {
            for (k, v) in new {
                let k = existing_key(object, &k).unwrap_or(k);
                object.insert(k, v);
            }
        }
        (None, _) => {}
    }
}

/// The element an equality filter (`type eq "work"`, joined by `and`) describes.
fn equalities(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.sub.is_none() => {
            let value = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        Filter::And(a, b) => {
            let mut out = equalities(a)?;
            out.extend(equalities(b)?);
            Some(out)
        }
        _ => None,
    }
}

/// Whether a list element matches an element filter (names case-insensitive, text compared
/// ignoring case).
pub fn matches(item: &Value, filter: &Filter) -> bool {
    match filter {
        Filter::Not(inner) => !matches(item, inner),
        Filter::And(a, b) => matches(item, a) && matches(item, b),
        Filter::Or(a, b) => matches(item, a) || matches(item, b),
        Filter::Has(..) => false,
        Filter::Present(path) => lookup(item, path).is_some_and(|v| !is_unassigned(v)),
        Filter::Compare(path, op, value) => {
            let found = lookup(item, path);
            let eq = found.is_some_and(|v| compare(v, CompareOp::Eq, value));
            match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                _ => found.is_some_and(|v| compare(v, *op, value)),
            }
        }
    }
}

fn lookup<'a>(item: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let Value::Object(object) = item else {
        return None;
    };
    let value = get_ci(object, &path.name)?;
    match &path.sub {
        Some(sub) => get_ci(value.as_object()?, sub),
        None => Some(value),
    }
}

fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn compare(found: &Value, op: CompareOp, want: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ordering = match (found, want) {
        (Value::String(a), CompValue::Str(b)) => {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Bool(a), CompValue::Bool(b)) => return op == CompareOp::Eq && a == b,
        (Value::Number(a), CompValue::Number(b)) => {
            match a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b))
            {
                Some(o) => o,
                None => return false,
            }
        }
        _ => return false,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        _ => false,
    }
}

fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn existing_key(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// An object's keys in their schema spelling, so later writes replace rather than duplicate.
fn canonical_keys(value: &Value, subs: &[Attr]) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| {
                    let name = find(subs, k).map_or_else(|| k.clone(), |a| a.name.to_owned());
                    (name, v.clone())
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
