//! From SCIM's names to the store's: a parsed filter or `sortBy` becomes a [`UserFilter`] or
//! [`UserField`], each value typed by the attribute it is compared with. Names are matched
//! case-insensitively; an attribute that is not in the schema, or a value of the wrong type,
//! is `invalidFilter`.

use super::ScimProblem;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::schema::{
    Attr, COMMON, CustomAttr, ENTERPRISE, ENTERPRISE_SCHEMA, Kind, META, PORTICO_SCHEMA, USER,
    USER_SCHEMA, find,
};
use crate::directory::AttributeType;
use crate::store::{Operand, UserField, UserFilter};

/// How a resolved attribute is stored and compared.
struct Resolved {
    field: UserField,
    kind: Kind,
    case_exact: bool,
}

/// What a top-level path names: one value, or the elements of a list.
enum Named {
    Value(Resolved),
    List {
        list: Vec<String>,
        subs: &'static [Attr],
        primary_email: bool,
        sub: Option<String>,
    },
}

fn invalid(message: impl Into<String>) -> ScimProblem {
    ScimProblem::InvalidFilter(message.into())
}

/// The store filter for a parsed SCIM filter over Users.
pub fn user_filter(filter: &Filter, custom: &[CustomAttr]) -> Result<UserFilter, ScimProblem> {
    Ok(match filter {
        Filter::Not(inner) => UserFilter::Not(Box::new(user_filter(inner, custom)?)),
        Filter::And(a, b) => UserFilter::And(
            Box::new(user_filter(a, custom)?),
            Box::new(user_filter(b, custom)?),
        ),
        Filter::Or(a, b) => UserFilter::Or(
            Box::new(user_filter(a, custom)?),
            Box::new(user_filter(b, custom)?),
        ),
        Filter::Present(path) => match name(path, custom)? {
            Named::Value(r) => UserFilter::Present(r.field),
            Named::List { .. } if path.sub.is_none() => {
                any(path, custom, &Filter::Present(AttrPath::named("value")))?
            }
            Named::List { sub, .. } => any(
                path,
                custom,
                &Filter::Present(AttrPath::named(sub.as_deref().unwrap_or("value"))),
            )?,
        },
        Filter::Compare(path, op, value) => match name(path, custom)? {
            Named::Value(r) => compare(r, *op, value)?,
            Named::List { sub, .. } => {
                let element = AttrPath::named(sub.as_deref().unwrap_or("value"));
                any(path, custom, &Filter::Compare(element, *op, value.clone()))?
            }
        },
        Filter::Has(path, element) => any(path, custom, element)?,
    })
}

/// A list filter: some element matches `element`.
fn any(
    path: &AttrPath,
    custom: &[CustomAttr],
    element: &Filter,
) -> Result<UserFilter, ScimProblem> {
    let list_path = AttrPath {
        sub: None,
        ..path.clone()
    };
    let Named::List {
        list,
        subs,
        primary_email,
        ..
    } = name(&list_path, custom)?
    else {
        return Err(invalid(format!("{} is not a list", path.name)));
    };
    Ok(UserFilter::Any {
        list,
        element: Box::new(element_filter(element, subs)?),
        primary_email,
    })
}

fn element_filter(filter: &Filter, subs: &'static [Attr]) -> Result<UserFilter, ScimProblem> {
    let field = |path: &AttrPath| -> Result<Resolved, ScimProblem> {
        if path.schema.is_some() || path.sub.is_some() {
            return Err(invalid(format!(
                "{path} is not a sub-attribute of the list"
            )));
        }
        let attr = find(subs, &path.name)
            .ok_or_else(|| invalid(format!("the list has no {}", path.name)))?;
        Ok(Resolved {
            field: UserField::Element(attr.name.to_owned()),
            kind: attr.kind,
            case_exact: attr.case_exact,
        })
    };
    Ok(match filter {
        Filter::Not(inner) => UserFilter::Not(Box::new(element_filter(inner, subs)?)),
        Filter::And(a, b) => UserFilter::And(
            Box::new(element_filter(a, subs)?),
            Box::new(element_filter(b, subs)?),
        ),
        Filter::Or(a, b) => UserFilter::Or(
            Box::new(element_filter(a, subs)?),
            Box::new(element_filter(b, subs)?),
        ),
        Filter::Present(path) => UserFilter::Present(field(path)?.field),
        Filter::Compare(path, op, value) => compare(field(path)?, *op, value)?,
        Filter::Has(..) => return Err(invalid("a list filter cannot hold another")),
    })
}

fn compare(r: Resolved, op: CompareOp, value: &CompValue) -> Result<UserFilter, ScimProblem> {
    let text_only = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let operand = match (r.kind, value) {
        // `eq null` is "has no value"; `ne null` is "has one".
        (_, CompValue::Null) => {
            let present = UserFilter::Present(r.field);
            return match op {
                CompareOp::Eq => Ok(UserFilter::Not(Box::new(present))),
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
        (Kind::DateTime, CompValue::Str(s)) if !text_only && is_time_column(&r.field) => {
            let at = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| invalid(format!("{s:?} is not an RFC 3339 time")))?;
            Operand::Time(at.unix_timestamp())
        }
        (Kind::String | Kind::Reference | Kind::Binary | Kind::DateTime, CompValue::Str(s)) => {
            match r.field {
                // Stored lower-case, so compared exactly: an index lookup.
                UserField::UserName => Operand::Text {
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
    Ok(UserFilter::Compare(r.field, op, operand))
}

fn is_time_column(field: &UserField) -> bool {
    matches!(field, UserField::Created | UserField::LastModified)
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
            return value(UserField::Profile(attr_path), kind, case_exact);
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
            return value(UserField::Attribute(attr.name.clone()), kind, false);
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
            "created" => value(UserField::Created, Kind::DateTime, true),
            "lastModified" => value(UserField::LastModified, Kind::DateTime, true),
            _ => Err(invalid(format!("meta.{} cannot be filtered on", sub.name))),
        };
    }
    if let Some(attr) = find(&COMMON, &path.name).filter(|_| path.sub.is_none()) {
        let field = match attr.name {
            "id" => UserField::Id,
            _ => UserField::ExternalId,
        };
        return value(field, Kind::String, true);
    }
    let attr = find(&USER, &path.name).ok_or_else(unknown)?;
    if attr.multi {
        if attr.name == "groups" {
            return Err(invalid("filtering users by group is not supported yet"));
        }
        if let Some(sub) = &path.sub {
            find(attr.subs, sub).ok_or_else(unknown)?;
        }
        return Ok(Named::List {
            list: vec![attr.name.to_owned()],
            subs: attr.subs,
            primary_email: attr.name == "emails",
            sub: path.sub.clone(),
        });
    }
    match (attr.name, path.sub.as_deref()) {
        ("userName", None) => value(UserField::UserName, Kind::String, false),
        ("displayName", None) => value(UserField::DisplayName, Kind::String, false),
        ("active", None) => value(UserField::Active, Kind::Boolean, true),
        ("title", None) => value(UserField::Attribute("jobTitle".into()), Kind::String, false),
        ("password", _) => Err(invalid("password cannot be filtered on")),
        ("name", Some(sub)) => {
            let s = find(attr.subs, sub).ok_or_else(unknown)?;
            let field = match s.name {
                "givenName" => UserField::Attribute("givenName".into()),
                "familyName" => UserField::Attribute("surname".into()),
                other => UserField::Profile(vec!["name".into(), other.into()]),
            };
            value(field, Kind::String, false)
        }
        (_, Some(_)) | ("name", None) => Err(unknown()),
        (other, None) => value(
            UserField::Profile(vec![other.into()]),
            attr.kind,
            attr.case_exact,
        ),
    }
}

/// The sort key `sortBy` names (a list sorts by its primary value; for `emails`, the sign-in
/// email).
pub fn sort_field(sort_by: &str, custom: &[CustomAttr]) -> Result<UserField, ScimProblem> {
    let path = AttrPath::parse(sort_by).map_err(|e| invalid(e.0))?;
    match name(&path, custom)? {
        Named::Value(r) => Ok(r.field),
        Named::List {
            primary_email: true,
            ..
        } => Ok(UserField::UserName),
        Named::List { .. } => Err(invalid(format!("{sort_by} cannot be sorted by"))),
    }
}
