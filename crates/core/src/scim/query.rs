//! From SCIM's names to the store's: a parsed filter or `sortBy` becomes a [`ScimFilter`] or
//! [`ScimField`], each value typed by the attribute it is compared with. Names are matched
//! case-insensitively; an attribute that is not in the schema, or a value of the wrong type,
//! is `invalidFilter`.

use super::ScimProblem;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::schema::{
    Attr, COMMON, CustomAttr, ENTERPRISE, ENTERPRISE_SCHEMA, GROUP, GROUP_SCHEMA, Kind, META,
    PORTICO_SCHEMA, USER, USER_SCHEMA, find,
};
use crate::directory::AttributeType;
use crate::store::{Operand, ScimField, ScimFilter};

/// How a resolved attribute is stored and compared.
struct Resolved {
    field: ScimField,
    kind: Kind,
    case_exact: bool,
}

/// What a top-level path names: one value, or the elements of a list.
enum Named {
    Value(Resolved),
    List {
        list: Vec<String>,
        subs: &'static [Attr],
        sub: Option<String>,
        /// Group membership (a user's `groups`, a group's `members`), kept in its own table.
        membership: bool,
    },
}

/// Resolves a top-level path of the resource's schema.
type Names<'a> = &'a dyn Fn(&AttrPath) -> Result<Named, ScimProblem>;

fn invalid(message: impl Into<String>) -> ScimProblem {
    ScimProblem::InvalidFilter(message.into())
}

/// The store filter for a parsed SCIM filter over Users.
pub fn user_filter(filter: &Filter, custom: &[CustomAttr]) -> Result<ScimFilter, ScimProblem> {
    resolve(filter, &|path| name(path, custom))
}

/// The store filter for a parsed SCIM filter over Groups.
pub fn group_filter(filter: &Filter) -> Result<ScimFilter, ScimProblem> {
    resolve(filter, &group_name)
}

fn resolve(filter: &Filter, names: Names<'_>) -> Result<ScimFilter, ScimProblem> {
    Ok(match filter {
        Filter::Not(inner) => ScimFilter::Not(Box::new(resolve(inner, names)?)),
        Filter::And(a, b) => {
            ScimFilter::And(Box::new(resolve(a, names)?), Box::new(resolve(b, names)?))
        }
        Filter::Or(a, b) => {
            ScimFilter::Or(Box::new(resolve(a, names)?), Box::new(resolve(b, names)?))
        }
        Filter::Present(path) => match names(path)? {
            Named::Value(r) => ScimFilter::Present(r.field),
            Named::List { sub, .. } => {
                let element = AttrPath::named(sub.as_deref().unwrap_or("value"));
                any(path, names, &Filter::Present(element))?
            }
        },
        Filter::Compare(path, op, value) => match names(path)? {
            Named::Value(r) => compare(r, *op, value)?,
            Named::List { sub, .. } => {
                let element = AttrPath::named(sub.as_deref().unwrap_or("value"));
                any(path, names, &Filter::Compare(element, *op, value.clone()))?
            }
        },
        Filter::Has(path, element) => any(path, names, element)?,
    })
}

/// A list filter: some element matches `element`.
fn any(path: &AttrPath, names: Names<'_>, element: &Filter) -> Result<ScimFilter, ScimProblem> {
    let list_path = AttrPath {
        sub: None,
        ..path.clone()
    };
    let Named::List {
        list,
        subs,
        membership,
        ..
    } = names(&list_path)?
    else {
        return Err(invalid(format!("{} is not a list", path.name)));
    };
    let element = Box::new(element_filter(element, subs)?);
    Ok(if membership {
        ScimFilter::Membership(element)
    } else {
        ScimFilter::Any { list, element }
    })
}

fn element_filter(filter: &Filter, subs: &'static [Attr]) -> Result<ScimFilter, ScimProblem> {
    let field = |path: &AttrPath| -> Result<Resolved, ScimProblem> {
        if path.schema.is_some() || path.sub.is_some() {
            return Err(invalid(format!(
                "{path} is not a sub-attribute of the list"
            )));
        }
        let attr = find(subs, &path.name)
            .ok_or_else(|| invalid(format!("the list has no {}", path.name)))?;
        Ok(Resolved {
            field: ScimField::Element(attr.name.to_owned()),
            kind: attr.kind,
            case_exact: attr.case_exact,
        })
    };
    Ok(match filter {
        Filter::Not(inner) => ScimFilter::Not(Box::new(element_filter(inner, subs)?)),
        Filter::And(a, b) => ScimFilter::And(
            Box::new(element_filter(a, subs)?),
            Box::new(element_filter(b, subs)?),
        ),
        Filter::Or(a, b) => ScimFilter::Or(
            Box::new(element_filter(a, subs)?),
            Box::new(element_filter(b, subs)?),
        ),
        Filter::Present(path) => ScimFilter::Present(field(path)?.field),
        Filter::Compare(path, op, value) => compare(field(path)?, *op, value)?,
        Filter::Has(..) => return Err(invalid("a list filter cannot hold another")),
    })
}

fn compare(r: Resolved, op: CompareOp, value: &CompValue) -> Result<ScimFilter, ScimProblem> {
    let text_only = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let operand = match (r.kind, value) {
        // `eq null` is "has no value"; `ne null` is "has one".
        (_, CompValue::Null) => {
            let present = ScimFilter::Present(r.field);
            return match op {
                CompareOp::Eq => Ok(ScimFilter::Not(Box::new(present))),
                CompareOp::Ne => Ok(present),
                _ => Err(invalid(format!("{op} does not compare with null"))),
            };
        }
        (Kind::Boolean, CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            Operand::Bool(*b)
        }
        (Kind::Integer, CompValue::Number(n)) if !text_only => {
            Operand::Number(n.as_f64().ok_or_else(|| invalid("a number out of range"))?)
        }
        (Kind::DateTime, CompValue::Str(_)) if text_only && is_time_column(&r.field) => {
            return Err(invalid(format!("{op} does not apply to a time")));
        }
        (Kind::DateTime, CompValue::Str(s)) if is_time_column(&r.field) => {
            let at = super::parse_rfc3339(s)
                .ok_or_else(|| invalid(format!("{s:?} is not an RFC 3339 time")))?;
            Operand::Time(at)
        }
        (Kind::String | Kind::Reference | Kind::Binary | Kind::DateTime, CompValue::Str(s)) => {
            match r.field {
                // Stored lower-case, so compared exactly: an index lookup.
                ScimField::UserName => Operand::Text {
                    value: s.trim().to_lowercase(),
                    case_exact: true,
                },
                _ => Operand::Text {
                    value: s.clone(),
                    case_exact: r.case_exact,
                },
            }
        }
        _ => {
            return Err(invalid(format!(
                "{op} {value} does not fit the attribute's type"
            )));
        }
    };
    Ok(ScimFilter::Compare(r.field, op, operand))
}

fn is_time_column(field: &ScimField) -> bool {
    matches!(field, ScimField::Created | ScimField::LastModified)
}

/// What a top-level path names.
fn name(path: &AttrPath, custom: &[CustomAttr]) -> Result<Named, ScimProblem> {
    let unknown = || invalid(format!("{path} is not an attribute of a User"));
    let value = |field, kind, case_exact| {
        Ok(Named::Value(Resolved {
            field,
            kind,
            case_exact,
        }))
    };
    match path.schema.as_deref() {
        Some(s) if s.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => {
            let attr = find(&ENTERPRISE, &path.name).ok_or_else(unknown)?;
            let (attr_path, kind, case_exact) = match (&path.sub, attr.kind) {
                (Some(sub), Kind::Complex) => {
                    let s = find(attr.subs, sub).ok_or_else(unknown)?;
                    (
                        vec![
                            ENTERPRISE_SCHEMA.to_owned(),
                            attr.name.to_owned(),
                            s.name.to_owned(),
                        ],
                        s.kind,
                        s.case_exact,
                    )
                }
                (None, Kind::Complex) => (
                    vec![
                        ENTERPRISE_SCHEMA.to_owned(),
                        attr.name.to_owned(),
                        "value".to_owned(),
                    ],
                    Kind::String,
                    false,
                ),
                (Some(_), _) => return Err(unknown()),
                (None, kind) => (
                    vec![ENTERPRISE_SCHEMA.to_owned(), attr.name.to_owned()],
                    kind,
                    attr.case_exact,
                ),
            };
            return value(ScimField::Profile(attr_path), kind, case_exact);
        }
        Some(s) if s.eq_ignore_ascii_case(PORTICO_SCHEMA) => {
            let attr = custom
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&path.name))
                .filter(|_| path.sub.is_none())
                .ok_or_else(unknown)?;
            let kind = match attr.value_type {
                AttributeType::String => Kind::String,
                AttributeType::Int => Kind::Integer,
                AttributeType::Bool => Kind::Boolean,
            };
            return value(ScimField::Attribute(attr.name.clone()), kind, false);
        }
        Some(s) if !s.eq_ignore_ascii_case(USER_SCHEMA) => return Err(unknown()),
        _ => {}
    }
    if path.name.eq_ignore_ascii_case("meta") {
        let sub = path
            .sub
            .as_deref()
            .and_then(|s| find(&META, s))
            .ok_or_else(unknown)?;
        return match sub.name {
            "created" => value(ScimField::Created, Kind::DateTime, true),
            "lastModified" => value(ScimField::LastModified, Kind::DateTime, true),
            _ => Err(invalid(format!("meta.{} cannot be filtered on", sub.name))),
        };
    }
    if let Some(attr) = find(&COMMON, &path.name).filter(|_| path.sub.is_none()) {
        let field = match attr.name {
            "id" => ScimField::Id,
            _ => ScimField::ExternalId,
        };
        return value(field, Kind::String, true);
    }
    let attr = find(&USER, &path.name).ok_or_else(unknown)?;
    if attr.multi {
        if let Some(sub) = &path.sub {
            find(attr.subs, sub).ok_or_else(unknown)?;
        }
        return Ok(Named::List {
            list: vec![attr.name.to_owned()],
            subs: attr.subs,
            sub: path.sub.clone(),
            membership: attr.name == "groups",
        });
    }
    match (attr.name, path.sub.as_deref()) {
        ("userName", None) => value(ScimField::UserName, Kind::String, false),
        ("displayName", None) => value(ScimField::DisplayName, Kind::String, false),
        ("active", None) => value(ScimField::Active, Kind::Boolean, true),
        ("title", None) => value(ScimField::Attribute("jobTitle".into()), Kind::String, false),
        ("password", _) => Err(invalid("password cannot be filtered on")),
        ("name", Some(sub)) => {
            let s = find(attr.subs, sub).ok_or_else(unknown)?;
            let field = match s.name {
                "givenName" => ScimField::Attribute("givenName".into()),
                "familyName" => ScimField::Attribute("surname".into()),
                other => ScimField::Profile(vec!["name".into(), other.into()]),
            };
            value(field, Kind::String, false)
        }
        (_, Some(_)) | ("name", None) => Err(unknown()),
        (other, None) => value(
            ScimField::Profile(vec![other.into()]),
            attr.kind,
            attr.case_exact,
        ),
    }
}

/// What a top-level path of the Group schema names.
fn group_name(path: &AttrPath) -> Result<Named, ScimProblem> {
    let unknown = || invalid(format!("{path} is not an attribute of a Group"));
    match path.schema.as_deref() {
        Some(s) if !s.eq_ignore_ascii_case(GROUP_SCHEMA) => return Err(unknown()),
        _ => {}
    }
    let value = |field, case_exact| {
        Ok(Named::Value(Resolved {
            field,
            kind: Kind::String,
            case_exact,
        }))
    };
    if path.name.eq_ignore_ascii_case("meta") {
        return match path
            .sub
            .as_deref()
            .and_then(|s| find(&META, s))
            .map(|a| a.name)
        {
            Some("created") => time_value(ScimField::Created),
            Some("lastModified") => time_value(ScimField::LastModified),
            _ => Err(unknown()),
        };
    }
    let attr = find(&COMMON, &path.name)
        .or_else(|| find(&GROUP, &path.name))
        .ok_or_else(unknown)?;
    match (attr.name, &path.sub) {
        ("id", None) => value(ScimField::Id, true),
        ("externalId", None) => value(ScimField::ExternalId, true),
        ("displayName", None) => value(ScimField::DisplayName, false),
        ("members", sub) => {
            if let Some(sub) = sub {
                find(attr.subs, sub).ok_or_else(unknown)?;
            }
            Ok(Named::List {
                list: Vec::new(),
                subs: attr.subs,
                sub: sub.clone(),
                membership: true,
            })
        }
        _ => Err(unknown()),
    }
}

fn time_value(field: ScimField) -> Result<Named, ScimProblem> {
    Ok(Named::Value(Resolved {
        field,
        kind: Kind::DateTime,
        case_exact: true,
    }))
}

/// The sort key `sortBy` names among a Group's attributes.
pub fn group_sort_field(sort_by: &str) -> Result<ScimField, ScimProblem> {
    let path = AttrPath::parse(sort_by).map_err(|e| invalid(e.0))?;
    match group_name(&path)? {
        Named::Value(r) => Ok(r.field),
        Named::List { .. } => Err(invalid(format!("{sort_by} cannot be sorted by"))),
    }
}

/// The sort key `sortBy` names (a list sorts by its primary value; for `emails`, the sign-in
/// email).
pub fn sort_field(sort_by: &str, custom: &[CustomAttr]) -> Result<ScimField, ScimProblem> {
    let path = AttrPath::parse(sort_by).map_err(|e| invalid(e.0))?;
    match name(&path, custom)? {
        Named::Value(r) => Ok(r.field),
        // The sign-in email is the address that matters.
        Named::List { list, .. } if list == ["emails"] => Ok(ScimField::UserName),
        Named::List { .. } => Err(invalid(format!("{sort_by} cannot be sorted by"))),
    }
}
