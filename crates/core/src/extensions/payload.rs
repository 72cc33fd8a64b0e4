//! The requests Portico sends, in Entra's shapes (specs/entra-external-id-contracts.md §2.1):
//! the envelope (`type`, `source`, `data` with `@odata.type`, the tenant, listener and
//! extension ids, `authenticationContext`) around each event's own data.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::Extension;
use crate::directory::{Application, Tenant, User};

/// Who and what a call is about.
#[derive(Debug, Clone, Copy)]
pub struct CalloutContext<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The extension called.
    pub extension: &'a Extension,
    /// The sign-in's (or token request's) correlation id.
    pub correlation_id: &'a str,
    /// The app signing the person in (`clientServicePrincipal`; `source` names it).
    pub client: Option<&'a Application>,
    /// The API the token is for (`resourceServicePrincipal`).
    pub resource: Option<&'a Application>,
    /// The person's address, when the call happens in their request.
    pub client_ip: Option<IpAddr>,
    /// Their language (`en-us`).
    pub locale: Option<&'a str>,
    /// The account, once there is one (token issuance, password submit).
    pub user: Option<&'a User>,
    /// What the code is for (one-time codes: `signUp`, `signIn`, `passwordReset`).
    pub request_type: Option<&'a str>,
}

/// An app as Entra describes a service principal. Portico keeps no service principals
/// apart from apps, so the object id is the app id.
fn service_principal(app: &Application) -> Value {
    json!({
        "id": app.client_id.to_string(),
        "appId": app.client_id.to_string(),
        "appDisplayName": app.name,
        "displayName": app.name,
    })
}

/// An account as Entra's `authenticationContext.user`: only what is set, as Entra sends only
/// populated properties. The user principal name follows the CIAM form `{oid}@{tenant}`.
fn user_object(tenant: &Tenant, user: &User) -> Value {
    let mut object = Map::new();
    let id = user.id.to_string();
    if let Ok(created) = time::OffsetDateTime::from_unix_timestamp(user.created_at)
        && let Ok(text) = created.format(&time::format_description::well_known::Rfc3339)
    {
        object.insert("createdDateTime".into(), text.into());
    }
    if let Some(name) = &user.display_name {
        object.insert("displayName".into(), name.clone().into());
    }
    for attribute in ["givenName", "surname", "companyName", "preferredLanguage"] {
        if let Some(Value::String(value)) = user.attributes.get(attribute) {
            object.insert(attribute.into(), value.clone().into());
        }
    }
    object.insert("id".into(), id.clone().into());
    object.insert("mail".into(), user.email.clone().into());
    object.insert(
        "userPrincipalName".into(),
        format!("{id}@{}", tenant.name).into(),
    );
    object.insert("userType".into(), "Member".into());
    Value::Object(object)
}

/// The request for `context.extension`'s event, with the event's own fields in `event_data`.
pub fn envelope(context: &CalloutContext<'_>, event_data: Map<String, Value>) -> Value {
    let tenant_id = context.tenant.id.to_string();
    let extension = context.extension;
    let source_app = context
        .client
        .map(|app| app.client_id.to_string())
        .unwrap_or_else(|| extension.resource_app_id.clone());
    let locale = context.locale.unwrap_or("en-us").to_ascii_lowercase();
    let mut authentication = Map::new();
    authentication.insert("correlationId".into(), context.correlation_id.into());
    authentication.insert(
        "client".into(),
        json!({
            // Entra sends 0.0.0.0 where no person's address is at hand (OTP-send captures).
            "ip": context.client_ip.map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string()),
            "locale": locale,
            "market": locale,
        }),
    );
    authentication.insert("protocol".into(), "OAUTH2.0".into());
    if let Some(kind) = context.request_type {
        authentication.insert("requestType".into(), kind.into());
    }
    if let Some(app) = context.client {
        authentication.insert("clientServicePrincipal".into(), service_principal(app));
    }
    if let Some(app) = context.resource.or(context.client) {
        authentication.insert("resourceServicePrincipal".into(), service_principal(app));
    }
    if let Some(user) = context.user {
        authentication.insert("user".into(), user_object(context.tenant, user));
    }
    let mut data = Map::new();
    data.insert(
        "@odata.type".into(),
        extension.event.callout_data_type().into(),
    );
    data.insert("tenantId".into(), tenant_id.clone().into());
    // Portico has no separate listener objects: an extension is its own listener.
    data.insert(
        "authenticationEventListenerId".into(),
        extension.id.clone().into(),
    );
    data.insert(
        "customAuthenticationExtensionId".into(),
        extension.id.clone().into(),
    );
    data.insert(
        "authenticationContext".into(),
        Value::Object(authentication),
    );
    data.extend(event_data);
    json!({
        "type": extension.event.wire_type(),
        "source": format!("/tenants/{tenant_id}/applications/{source_app}"),
        "data": Value::Object(data),
    })
}

/// Attributes as Entra's `userSignUpInfo.attributes`: each value typed
/// (`stringDirectoryAttributeValue`, `int64…`, `boolean…`), built-in attributes marked
/// `builtIn`, the tenant's own `directorySchemaExtension`.
pub fn sign_up_attributes(attributes: &Map<String, Value>) -> Value {
    let typed: Map<String, Value> = attributes
        .iter()
        .map(|(name, value)| {
            let kind = match value {
                Value::Bool(_) => "microsoft.graph.booleanDirectoryAttributeValue",
                Value::Number(_) => "microsoft.graph.int64DirectoryAttributeValue",
                _ => "microsoft.graph.stringDirectoryAttributeValue",
            };
            let value = match value {
                // Several choices travel as one comma-delimited string, as in Entra.
                Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map_or_else(|| item.to_string(), str::to_owned)
                    })
                    .collect::<Vec<_>>()
                    .join(",")
                    .into(),
                other => other.clone(),
            };
            let origin = if name == "email"
                || crate::directory::BUILT_IN_ATTRIBUTES.contains(&name.as_str())
            {
                "builtIn"
            } else {
                "directorySchemaExtension"
            };
            (
                name.clone(),
                json!({"@odata.type": kind, "value": value, "attributeType": origin}),
            )
        })
        .collect();
    Value::Object(typed)
}

/// The event data of attribute collection: the attributes, and the identity being signed
/// up (an email address, in the CIAM capture's form).
pub fn sign_up_info(attributes: &Map<String, Value>, email: Option<&str>) -> Map<String, Value> {
    let mut info = Map::new();
    info.insert("attributes".into(), sign_up_attributes(attributes));
    if let Some(email) = email {
        info.insert(
            "identities".into(),
            json!([{"signInType": "email", "issuer": "mail", "issuerAssignedId": email}]),
        );
    }
    let mut data = Map::new();
    data.insert("userSignUpInfo".into(), Value::Object(info));
    data
}

/// The event data of a one-time code to deliver.
pub fn otp_context(identifier: &str, code: &str) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert(
        "otpContext".into(),
        json!({"identifier": identifier, "oneTimeCode": code}),
    );
    data
}
