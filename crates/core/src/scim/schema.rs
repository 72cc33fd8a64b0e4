//! The SCIM User schema as Portico serves it (RFC 7643 §4.1 and §4.3): what each attribute is,
//! how clients may name it (case-insensitively), and the `Schemas` document that declares it.
//! Custom attributes of the tenant's user flows make up the Portico extension.

use serde_json::{Value, json};

use crate::directory::{AttributeType, UserFlow};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Portico's extension: the custom attributes a tenant's user flows collect.
pub const PORTICO_SCHEMA: &str = "urn:portico:params:scim:schemas:extension:custom:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A list answer.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A `/.search` request.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// An attribute's data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    String,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// An RFC 3339 time.
    DateTime,
    /// A URI.
    Reference,
    /// Base64 data.
    Binary,
    /// Has sub-attributes.
    Complex,
}

/// Who may change an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Clients may set it.
    ReadWrite,
    /// The server sets it; clients' values are ignored.
    ReadOnly,
    /// Clients set it and never see it back.
    WriteOnly,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    /// Canonical name.
    pub name: &'static str,
    /// Data type.
    pub kind: Kind,
    /// Whether it holds a list.
    pub multi: bool,
    /// Whether string comparisons respect case.
    pub case_exact: bool,
    /// Who may change it.
    pub mutability: Mutability,
    /// Whether a resource must have it.
    pub required: bool,
    /// Sub-attributes of a complex attribute.
    pub subs: &'static [Attr],
}

const fn text(name: &'static str) -> Attr {
    Attr {
        name,
        kind: Kind::String,
        multi: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        required: false,
        subs: &[],
    }
}

const fn of(kind: Kind, name: &'static str) -> Attr {
    Attr { kind, ..text(name) }
}

const fn list(name: &'static str, subs: &'static [Attr]) -> Attr {
    Attr {
        kind: Kind::Complex,
        multi: true,
        subs,
        ..text(name)
    }
}

/// `value`, `display`, `type`, `primary`: the sub-attributes of most lists.
const TYPED_VALUE: [Attr; 4] = [
    text("value"),
    text("display"),
    text("type"),
    of(Kind::Boolean, "primary"),
];

const NAME: [Attr; 6] = [
    text("formatted"),
    text("familyName"),
    text("givenName"),
    text("middleName"),
    text("honorificPrefix"),
    text("honorificSuffix"),
];

const ADDRESS: [Attr; 8] = [
    text("formatted"),
    text("streetAddress"),
    text("locality"),
    text("region"),
    text("postalCode"),
    text("country"),
    text("type"),
    of(Kind::Boolean, "primary"),
];

const GROUP_REF: [Attr; 4] = [
    Attr {
        mutability: Mutability::ReadOnly,
        ..text("value")
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..of(Kind::Reference, "$ref")
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..text("display")
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..text("type")
    },
];

const PHOTO: [Attr; 4] = [
    of(Kind::Reference, "value"),
    text("display"),
    text("type"),
    of(Kind::Boolean, "primary"),
];

const CERTIFICATE: [Attr; 4] = [
    of(Kind::Binary, "value"),
    text("display"),
    text("type"),
    of(Kind::Boolean, "primary"),
];

/// The attributes every resource has (RFC 7643 §3.1).
pub const COMMON: [Attr; 2] = [
    Attr {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..text("id")
    },
    Attr {
        case_exact: true,
        ..text("externalId")
    },
];

/// `meta`'s sub-attributes.
pub const META: [Attr; 5] = [
    Attr {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..text("resourceType")
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..of(Kind::DateTime, "created")
    },
    Attr {
        mutability: Mutability::ReadOnly,
        ..of(Kind::DateTime, "lastModified")
    },
    Attr {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..of(Kind::Reference, "location")
    },
    Attr {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..text("version")
    },
];

/// The core User schema's attributes.
pub const USER: [Attr; 21] = [
    Attr {
        required: true,
        ..text("userName")
    },
    Attr {
        kind: Kind::Complex,
        subs: &NAME,
        ..text("name")
    },
    text("displayName"),
    text("nickName"),
    of(Kind::Reference, "profileUrl"),
    text("title"),
    text("userType"),
    text("preferredLanguage"),
    text("locale"),
    text("timezone"),
    of(Kind::Boolean, "active"),
    Attr {
        case_exact: true,
        mutability: Mutability::WriteOnly,
        ..text("password")
    },
    list("emails", &TYPED_VALUE),
    list("phoneNumbers", &TYPED_VALUE),
    list("ims", &TYPED_VALUE),
    list("photos", &PHOTO),
    list("addresses", &ADDRESS),
    Attr {
        mutability: Mutability::ReadOnly,
        ..list("groups", &GROUP_REF)
    },
    list("entitlements", &TYPED_VALUE),
    list("roles", &TYPED_VALUE),
    list("x509Certificates", &CERTIFICATE),
];

const MEMBER: [Attr; 4] = [
    Attr {
        case_exact: true,
        ..text("value")
    },
    of(Kind::Reference, "$ref"),
    Attr {
        mutability: Mutability::ReadOnly,
        ..text("display")
    },
    text("type"),
];

/// The core Group schema's attributes.
pub const GROUP: [Attr; 2] = [
    Attr {
        required: true,
        ..text("displayName")
    },
    list("members", &MEMBER),
];

const MANAGER: [Attr; 3] = [
    text("value"),
    of(Kind::Reference, "$ref"),
    Attr {
        mutability: Mutability::ReadOnly,
        ..text("displayName")
    },
];

/// The Enterprise User extension's attributes.
pub const ENTERPRISE: [Attr; 6] = [
    text("employeeNumber"),
    text("costCenter"),
    text("organization"),
    text("division"),
    text("department"),
    Attr {
        kind: Kind::Complex,
        subs: &MANAGER,
        ..text("manager")
    },
];

/// Finds an attribute by name, ignoring case (RFC 7643 §2.1).
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A custom attribute of the tenant's user flows, as the Portico extension declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomAttr {
    /// The attribute's name (as the flows spell it).
    pub name: String,
    /// Its type.
    pub value_type: AttributeType,
}

/// The custom (not built-in) attributes the tenant's user flows collect, each once.
pub fn custom_attributes(flows: &[UserFlow]) -> Vec<CustomAttr> {
    let mut out: Vec<CustomAttr> = Vec::new();
    for spec in flows.iter().flat_map(|f| &f.config.attributes) {
        if spec.is_built_in() || out.iter().any(|c| c.name.eq_ignore_ascii_case(&spec.name)) {
            continue;
        }
        out.push(CustomAttr {
            name: spec.name.clone(),
            value_type: spec.value_type,
        });
    }
    out
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Integer => "integer",
        Kind::DateTime => "dateTime",
        Kind::Reference => "reference",
        Kind::Binary => "binary",
        Kind::Complex => "complex",
    }
}

/// An attribute's definition in a `Schemas` document (RFC 7643 §7).
fn describe(attr: &Attr) -> Value {
    let mut out = json!({
        "name": attr.name,
        "type": kind_name(attr.kind),
        "multiValued": attr.multi,
        "required": attr.required,
        "caseExact": attr.case_exact,
        "mutability": match attr.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::ReadOnly => "readOnly",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match (attr.mutability, attr.name) {
            (Mutability::WriteOnly, _) => "never",
            (_, "id" | "userName") => "always",
            _ => "default",
        },
        "uniqueness": match attr.name {
            "userName" | "id" => "server",
            _ => "none",
        },
    });
    if let Some(map) = out.as_object_mut() {
        if !attr.subs.is_empty() {
            map.insert(
                "subAttributes".into(),
                attr.subs.iter().map(describe).collect(),
            );
        }
        if attr.kind == Kind::Reference {
            let types = match attr.name {
                "$ref" => json!(["User", "Group"]),
                _ => json!(["external"]),
            };
            map.insert("referenceTypes".into(), types);
        }
    }
    out
}

/// The `Schemas` documents: User (core, Enterprise and, if the tenant's flows collect custom
/// attributes, Portico's extension) and Group.
pub fn user_schemas(custom: &[CustomAttr]) -> Vec<Value> {
    let custom: Vec<Value> = custom
        .iter()
        .map(|c| {
            let kind = match c.value_type {
                AttributeType::String => Kind::String,
                AttributeType::Int => Kind::Integer,
                AttributeType::Bool => Kind::Boolean,
            };
            let mut attr = describe(&of(kind, "custom"));
            if let Some(map) = attr.as_object_mut() {
                map.insert("name".into(), c.name.clone().into());
            }
            attr
        })
        .collect();
    let mut schemas = vec![
        json!({
            "id": USER_SCHEMA,
            "name": "User",
            "description": "User Account",
            "attributes": USER.iter().map(describe).collect::<Vec<_>>(),
        }),
        json!({
            "id": ENTERPRISE_SCHEMA,
            "name": "EnterpriseUser",
            "description": "Enterprise User",
            "attributes": ENTERPRISE.iter().map(describe).collect::<Vec<_>>(),
        }),
        json!({
            "id": GROUP_SCHEMA,
            "name": "Group",
            "description": "Group",
            "attributes": GROUP.iter().map(describe).collect::<Vec<_>>(),
        }),
    ];
    // A tenant whose flows collect no custom attribute has no extension to declare.
    if !custom.is_empty() {
        schemas.push(json!({
            "id": PORTICO_SCHEMA,
            "name": "PorticoUser",
            "description": "The custom attributes the tenant's user flows collect",
            "attributes": custom,
        }));
    }
    schemas
}
