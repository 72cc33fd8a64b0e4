//! The endpoints a SCIM client reads to learn the server (RFC 7644 §4): what it supports
//! (`ServiceProviderConfig`), which resources it serves (`ResourceTypes`) and their
//! attributes (`Schemas`, with the tenant's custom attributes in Portico's extension). Each
//! says what this server does, and nothing it does not.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portico_core::scim::MAX_RESULTS;
use portico_core::scim::schema::{
    ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE, PORTICO_SCHEMA, USER_SCHEMA, user_schemas,
};
use serde_json::{Value, json};

use super::{ScimError, caller, scim_json};
use crate::AppState;

/// A ListResponse of every resource, on one page.
pub(super) fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `GET /{tenant}/scim/v2/ServiceProviderConfig` (RFC 7643 §5).
pub(super) async fn service_provider_config(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(&state, &tenant, &headers).await?;
    let base = state.portico.scim_base(&tenant);
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": super::bulk::MAX_OPERATIONS, "maxPayloadSize": super::bulk::MAX_PAYLOAD},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM bearer token",
                "description": "A token from `portico scim-token create`, sent as Authorization: Bearer",
                "primary": true
            }, {
                "type": "oauth2",
                "name": "OAuth access token",
                "description": "An access token of this tenant whose roles include SCIM.ReadWrite (or SCIM.Read, to read)",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750"
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
        }),
    ))
}

/// The User resource type; Portico's extension only where the tenant's flows collect custom
/// attributes.
fn user_resource_type(base: &str, custom: bool) -> Value {
    let mut extensions = vec![json!({"schema": ENTERPRISE_SCHEMA, "required": false})];
    if custom {
        extensions.push(json!({"schema": PORTICO_SCHEMA, "required": false}));
    }
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
    })
}

/// `GET /{tenant}/scim/v2/ResourceTypes`.
pub(super) async fn resource_types(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(&state, &tenant, &headers).await?;
    let base = state.portico.scim_base(&tenant);
    let custom = !state
        .portico
        .scim_custom_attributes(&tenant)
        .await?
        .is_empty();
    Ok(scim_json(
        StatusCode::OK,
        &list_of(vec![
            user_resource_type(&base, custom),
            group_resource_type(&base),
        ]),
    ))
}

/// `GET /{tenant}/scim/v2/ResourceTypes/{id}`.
pub(super) async fn resource_type(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(&state, &tenant, &headers).await?;
    let base = state.portico.scim_base(&tenant);
    let custom = !state
        .portico
        .scim_custom_attributes(&tenant)
        .await?
        .is_empty();
    match id.as_str() {
        "User" => Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&base, custom),
        )),
        "Group" => Ok(scim_json(StatusCode::OK, &group_resource_type(&base))),
        _ => Err(ScimError::new(
            StatusCode::NOT_FOUND,
            "resource type not found",
        )),
    }
}

async fn all_schemas(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
) -> Result<Vec<Value>, ScimError> {
    let (tenant, _) = caller(state, tenant, headers).await?;
    let base = state.portico.scim_base(&tenant);
    let custom = state.portico.scim_custom_attributes(&tenant).await?;
    Ok(user_schemas(&custom)
        .into_iter()
        .map(|mut schema| {
            let id = schema
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(map) = schema.as_object_mut() {
                map.insert(
                    "schemas".into(),
                    json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]),
                );
                map.insert(
                    "meta".into(),
                    json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}),
                );
            }
            schema
        })
        .collect())
}

/// `GET /{tenant}/scim/v2/Schemas`.
pub(super) async fn schemas(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let schemas = all_schemas(&state, &tenant, &headers).await?;
    Ok(scim_json(StatusCode::OK, &list_of(schemas)))
}

/// `GET /{tenant}/scim/v2/Schemas/{id}`.
pub(super) async fn schema(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    all_schemas(&state, &tenant, &headers)
        .await?
        .into_iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some(id.as_str()))
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, "schema not found"))
}
