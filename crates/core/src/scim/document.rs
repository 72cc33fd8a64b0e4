//! A user as a SCIM document and back. Rendering puts together the account (email as
//! `userName`, enabled as `active`), the attributes sign-up and tokens share (`givenName`,
//! `surname`, `jobTitle` and the custom ones) and the rest of the SCIM document kept beside it.
//! Reading a client's document checks every attribute against the schema (names
//! case-insensitive, types strict, with the string forms Entra sends for booleans and numbers
//! accepted) and splits it back into those three places.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ScimProblem;
use super::schema::{
    Attr, CustomAttr, ENTERPRISE, ENTERPRISE_SCHEMA, Kind, Mutability, PORTICO_SCHEMA, USER,
    USER_SCHEMA, find,
};
use crate::clock::UnixTime;
use crate::directory::{AttributeType, Email};
use crate::store::{ScimUserRecord, UserGroup};

/// Core attributes kept in the user's attributes rather than the SCIM document: (SCIM
/// attribute, sub-attribute, attribute name). Sign-up collects them and tokens carry them.
const MAPPED: [(&str, Option<&str>, &str); 3] = [
    ("name", Some("givenName"), "givenName"),
    ("name", Some("familyName"), "surname"),
    ("title", None, "jobTitle"),
];

/// The most values a multi-valued attribute (emails, phone numbers, …) holds.
pub const MAX_LIST_LEN: usize = 100;
/// The largest SCIM document kept for one user, in bytes of JSON (what has no column).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// What a client's document says, split into where Portico keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDraft {
    /// The sign-in email.
    pub email: String,
    /// `active`, if the document says (left out, a new user is active and an existing one
    /// stays as it is: a PUT that forgets `active` must not enable a disabled account).
    pub active: Option<bool>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `externalId`.
    pub external_id: Option<String>,
    /// The values of the attributes SCIM shows (mapped core ones and custom ones); the
    /// user's other attributes stay as they are.
    pub attributes: BTreeMap<String, Value>,
    /// The rest of the document.
    pub profile: Map<String, Value>,
    /// A new password, if the document sets one.
    pub password: Option<String>,
}

/// The attribute names a draft's `attributes` replace: the mapped ones and the custom ones.
pub fn scim_attribute_names(custom: &[CustomAttr]) -> Vec<String> {
    MAPPED
        .iter()
        .map(|(_, _, a)| (*a).to_owned())
        .chain(custom.iter().map(|c| c.name.clone()))
        .collect()
}

/// RFC 3339 in UTC, as SCIM's dateTime wants it.
pub fn rfc3339(at: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Unix seconds of an RFC 3339 time.
pub fn parse_rfc3339(text: &str) -> Option<UnixTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The weak ETag of a version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The full SCIM document of a user, without `meta` (the caller adds it); `groups` are the
/// user's groups (direct and nested), linked under `base`.
pub fn render(
    record: &ScimUserRecord,
    custom: &[CustomAttr],
    groups: &[UserGroup],
    base: &str,
) -> Map<String, Value> {
    let user = &record.user;
    let mut doc = record.profile.clone();
    doc.insert("id".into(), user.id.to_string().into());
    if let Some(external) = &record.external_id {
        doc.insert("externalId".into(), external.clone().into());
    }
    doc.insert("userName".into(), user.email.clone().into());
    doc.insert("active".into(), user.enabled.into());
    if let Some(name) = &user.display_name {
        doc.insert("displayName".into(), name.clone().into());
    }
    for (attr, sub, key) in MAPPED {
        let Some(value) = user.attributes.get(key).cloned() else {
            continue;
        };
        match sub {
            Some(sub) => {
                let name = doc.entry(attr).or_insert_with(|| json!({}));
                if let Some(name) = name.as_object_mut() {
                    name.insert(sub.into(), value);
                }
            }
            None => {
                doc.insert(attr.into(), value);
            }
        }
    }
    let extension: Map<String, Value> = custom
        .iter()
        .filter_map(|c| Some((c.name.clone(), user.attributes.get(&c.name)?.clone())))
        .collect();
    let mut schemas = vec![USER_SCHEMA];
    if doc.contains_key(ENTERPRISE_SCHEMA) {
        schemas.push(ENTERPRISE_SCHEMA);
    }
    if !extension.is_empty() {
        schemas.push(PORTICO_SCHEMA);
        doc.insert(PORTICO_SCHEMA.into(), Value::Object(extension));
    }
    doc.insert("schemas".into(), json!(schemas));
    let groups: Vec<Value> = groups
        .iter()
        .filter(|g| g.user == user.id)
        .map(|g| {
            json!({
                "value": g.group,
                "$ref": format!("{base}/Groups/{}", g.group),
                "display": g.display_name,
                "type": if g.direct { "direct" } else { "indirect" },
            })
        })
        .collect();
    if !groups.is_empty() {
        doc.insert("groups".into(), Value::Array(groups));
    }
    doc
}

/// Reads a client's User document (POST, PUT, or the result of a PATCH).
pub fn read(body: &Value, custom: &[CustomAttr]) -> Result<UserDraft, ScimProblem> {
    let Value::Object(body) = body else {
        return Err(ScimProblem::InvalidSyntax("a User is a JSON object".into()));
    };
    let mut draft = UserDraft {
        email: String::new(),
        active: None,
        display_name: None,
        external_id: None,
        attributes: BTreeMap::new(),
        profile: Map::new(),
        password: None,
    };
    let mut user_name = None;
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(value)?;
            continue;
        }
        if key.eq_ignore_ascii_case("meta") || key.eq_ignore_ascii_case("id") {
            continue;
        }
        if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
            let value = read_object(value, &ENTERPRISE, ENTERPRISE_SCHEMA)?;
            if !value.is_empty() {
                draft
                    .profile
                    .insert(ENTERPRISE_SCHEMA.into(), Value::Object(value));
            }
            continue;
        }
        if key.eq_ignore_ascii_case(PORTICO_SCHEMA) {
            read_custom(value, custom, &mut draft.attributes)?;
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            draft.external_id = non_empty_string(value, "externalId")?;
            continue;
        }
        let Some(attr) = find(&USER, key) else {
            return Err(ScimProblem::InvalidValue(format!(
                "{key:?} is not an attribute of {USER_SCHEMA}"
            )));
        };
        let Some(value) = typed(attr, value, attr.name)? else {
            continue;
        };
        match attr.name {
            "userName" => user_name = Some(value),
            "active" => draft.active = value.as_bool(),
            "displayName" => draft.display_name = value.as_str().map(str::to_owned),
            "password" => draft.password = value.as_str().map(str::to_owned),
            _ if attr.mutability == Mutability::ReadOnly => {}
            name => {
                draft.profile.insert(name.into(), value);
            }
        }
    }
    let user_name = user_name
        .as_ref()
        .and_then(Value::as_str)
        .ok_or_else(|| ScimProblem::InvalidValue("userName is required".into()))?;
    draft.email = Email::parse(user_name)
        .map_err(|_| {
            ScimProblem::InvalidValue(format!(
                "userName {user_name:?} must be the user's email address: it is what they sign in with"
            ))
        })?
        .as_str()
        .to_owned();
    // The mapped core attributes move from the document to the user's attributes.
    for (attr, sub, key) in MAPPED {
        let value = match sub {
            Some(sub) => draft
                .profile
                .get_mut(attr)
                .and_then(Value::as_object_mut)
                .and_then(|o| o.remove(sub)),
            None => draft.profile.remove(attr),
        };
        if let Some(value) = value {
            draft.attributes.insert(key.into(), value);
        }
    }
    if draft
        .profile
        .get("name")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        draft.profile.remove("name");
    }
    let size = serde_json::to_string(&draft.profile).map_or(usize::MAX, |s| s.len());
    if size > MAX_DOCUMENT_BYTES {
        return Err(ScimProblem::InvalidValue(format!(
            "a user's SCIM attributes take at most {MAX_DOCUMENT_BYTES} bytes of JSON"
        )));
    }
    Ok(draft)
}

fn check_schemas(value: &Value) -> Result<(), ScimProblem> {
    let ok = value
        .as_array()
        .is_some_and(|list| list.iter().all(Value::is_string));
    if ok {
        Ok(())
    } else {
        Err(ScimProblem::InvalidSyntax(
            "schemas is a list of schema URNs".into(),
        ))
    }
}

fn non_empty_string(value: &Value, name: &str) -> Result<Option<String>, ScimProblem> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ScimProblem::InvalidValue(format!("{name} is a string"))),
    }
}

/// Reads an object of known attributes (the Enterprise extension, a complex attribute).
fn read_object(
    value: &Value,
    attrs: &[Attr],
    context: &str,
) -> Result<Map<String, Value>, ScimProblem> {
    let Value::Object(object) = value else {
        return Err(ScimProblem::InvalidValue(format!("{context} is an object")));
    };
    let mut out = Map::new();
    for (key, value) in object {
        // Clients that serialise an extension as a model of its own send its `schemas` too.
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(attr) = find(attrs, key) else {
            return Err(ScimProblem::InvalidValue(format!(
                "{key:?} is not an attribute of {context}"
            )));
        };
        if attr.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(value) = typed(attr, value, &format!("{context}.{}", attr.name))? {
            out.insert(attr.name.into(), value);
        }
    }
    Ok(out)
}

fn read_custom(
    value: &Value,
    custom: &[CustomAttr],
    into: &mut BTreeMap<String, Value>,
) -> Result<(), ScimProblem> {
    let Value::Object(object) = value else {
        return Err(ScimProblem::InvalidValue(format!(
            "{PORTICO_SCHEMA} is an object"
        )));
    };
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(attr) = custom.iter().find(|c| c.name.eq_ignore_ascii_case(key)) else {
            return Err(ScimProblem::InvalidValue(format!(
                "{key:?} is not a custom attribute of this tenant's user flows"
            )));
        };
        let kind = match attr.value_type {
            AttributeType::String => Kind::String,
            AttributeType::Int => Kind::Integer,
            AttributeType::Bool => Kind::Boolean,
        };
        if let Some(value) = scalar(kind, value, &attr.name)? {
            into.insert(attr.name.clone(), value);
        }
    }
    Ok(())
}

/// A value checked against its attribute; `None` for null, empty strings and empty lists
/// (SCIM's "unassigned").
pub(crate) fn typed(attr: &Attr, value: &Value, name: &str) -> Result<Option<Value>, ScimProblem> {
    if attr.multi {
        let items = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items.clone(),
            // A single element where a list is due: taken as a list of one.
            other => vec![other.clone()],
        };
        if items.len() > MAX_LIST_LEN {
            return Err(ScimProblem::InvalidValue(format!(
                "{name} holds at most {MAX_LIST_LEN} values"
            )));
        }
        let mut out = Vec::new();
        for item in &items {
            let single = Attr {
                multi: false,
                ..*attr
            };
            if let Some(item) = typed(&single, item, name)? {
                out.push(item);
            }
        }
        let primaries = out
            .iter()
            .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(ScimProblem::InvalidValue(format!(
                "at most one of {name} is primary"
            )));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    if attr.kind == Kind::Complex {
        if value.is_null() {
            return Ok(None);
        }
        let object = read_object(value, attr.subs, name)?;
        return Ok((!object.is_empty()).then_some(Value::Object(object)));
    }
    scalar(attr.kind, value, name)
}

fn scalar(kind: Kind, value: &Value, name: &str) -> Result<Option<Value>, ScimProblem> {
    let wrong = |what: &str| ScimProblem::InvalidValue(format!("{name} is {what}"));
    Ok(match (kind, value) {
        (_, Value::Null) => None,
        (Kind::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        // Entra sends booleans as "True" and "False".
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true.into()),
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false.into()),
        (Kind::Boolean, _) => return Err(wrong("true or false")),
        (Kind::Integer, Value::Number(n)) if n.is_i64() => Some(Value::Number(n.clone())),
        (Kind::Integer, Value::String(s)) => Some(
            s.trim()
                .parse::<i64>()
                .map_err(|_| wrong("a whole number"))?
                .into(),
        ),
        (Kind::Integer, _) => return Err(wrong("a whole number")),
        (_, Value::String(s)) if s.is_empty() => None,
        (Kind::String | Kind::Reference | Kind::Binary, Value::String(s)) => {
            if s.chars().count() > 1024 {
                return Err(wrong("at most 1024 characters"));
            }
            Some(Value::String(s.clone()))
        }
        (Kind::DateTime, Value::String(s)) => {
            parse_rfc3339(s).ok_or_else(|| wrong("an RFC 3339 time"))?;
            Some(Value::String(s.clone()))
        }
        (Kind::Complex, _) | (_, _) => return Err(wrong("of another type")),
    })
}

/// Narrows a document to `attributes` (plus what is always returned: `id`, `schemas`,
/// `userName`), or drops `excluded` (RFC 7644 §3.4.2.5). Names are matched ignoring case;
/// names that match nothing are ignored.
pub fn project(doc: &mut Map<String, Value>, attributes: &[String], excluded: &[String]) {
    const ALWAYS: [&str; 3] = ["id", "schemas", "userName"];
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for key in ALWAYS {
            if let Some(v) = doc.get(key) {
                kept.insert(key.into(), v.clone());
            }
        }
        for wanted in attributes {
            let Some((container, name, sub)) = locate(wanted) else {
                continue;
            };
            copy_path(doc, &mut kept, container.as_deref(), &name, sub.as_deref());
        }
        *doc = kept;
    }
    for unwanted in excluded {
        let Some((container, name, sub)) = locate(unwanted) else {
            continue;
        };
        if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&name)) && container.is_none() {
            continue;
        }
        let map = match &container {
            None => Some(&mut *doc),
            Some(urn) => key_of(doc, urn)
                .and_then(|k| doc.get_mut(&k))
                .and_then(Value::as_object_mut),
        };
        let Some(map) = map else { continue };
        let Some(key) = key_of(map, &name) else {
            continue;
        };
        match sub {
            None => {
                map.remove(&key);
            }
            Some(sub) => {
                for object in objects_mut(map.get_mut(&key)) {
                    if let Some(k) = key_of(object, &sub) {
                        object.remove(&k);
                    }
                }
            }
        }
    }
}

/// `[urn:…:]name[.sub]` as (extension URN, unless core; name; sub), or a whole extension.
fn locate(path: &str) -> Option<(Option<String>, String, Option<String>)> {
    let path = super::filter::AttrPath::parse(path.trim()).ok()?;
    match path.schema {
        Some(s) if s.eq_ignore_ascii_case(USER_SCHEMA) => Some((None, path.name, path.sub)),
        Some(s) => {
            let whole = format!("{s}:{}", path.name);
            if [ENTERPRISE_SCHEMA, PORTICO_SCHEMA]
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&whole))
            {
                Some((None, whole, None))
            } else {
                Some((Some(s), path.name, path.sub))
            }
        }
        None => Some((None, path.name, path.sub)),
    }
}

fn key_of(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn objects_mut(value: Option<&mut Value>) -> Vec<&mut Map<String, Value>> {
    match value {
        Some(Value::Object(o)) => vec![o],
        Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

fn copy_path(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
    container: Option<&str>,
    name: &str,
    sub: Option<&str>,
) {
    let (from, to) = match container {
        None => (from, to),
        Some(urn) => {
            let Some(key) = key_of(from, urn) else { return };
            let Some(source) = from.get(&key).and_then(Value::as_object) else {
                return;
            };
            let slot = to.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Some(target) = slot.as_object_mut() else {
                return;
            };
            copy_path(source, target, None, name, sub);
            return;
        }
    };
    let Some(key) = key_of(from, name) else {
        return;
    };
    let Some(value) = from.get(&key) else { return };
    let Some(sub) = sub else {
        to.insert(key, value.clone());
        return;
    };
    let pick = |object: &Map<String, Value>| -> Map<String, Value> {
        key_of(object, sub)
            .and_then(|k| Some((k.clone(), object.get(&k)?.clone())))
            .into_iter()
            .collect()
    };
    let picked = match value {
        Value::Object(object) => {
            let mut merged = to
                .get(&key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            merged.extend(pick(object));
            Value::Object(merged)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(Value::as_object)
                .map(|o| Value::Object(pick(o)))
                .collect(),
        ),
        _ => return,
    };
    to.insert(key, picked);
}
