//! `/{tenant}/scim/v2/Groups`: list (members left out on request, as Entra asks), search by
//! POST, create, read, replace, patch (members added and removed one by one; answered 204)
//! and delete.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portico_core::scim::{ListParams, etag};

use super::request::{
    Selection, from_query, from_search, json_body, list_response, precondition, read_response,
    resource,
};
use super::{ScimError, caller};
use crate::AppState;

async fn list(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    params: ListParams,
    selection: Selection,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(state, tenant, headers).await?;
    let page = state
        .portico
        .scim_list_groups(&tenant, &params, selection.wants("members"))
        .await?;
    Ok(list_response(page, &selection))
}

/// `GET /Groups`.
async fn list_groups(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (params, selection) = from_query(query.as_deref())?;
    list(&state, &tenant, &headers, params, selection).await
}

/// `POST /Groups/.search`.
async fn search_groups(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    caller(&state, &tenant, &headers).await?;
    let (params, selection) = from_search(&json_body(&body)?)?;
    list(&state, &tenant, &headers, params, selection).await
}

/// `POST /Groups`.
async fn create_group(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let body = json_body(&body)?;
    let served = state
        .portico
        .scim_create_group(&tenant, &who, &body)
        .await?;
    Ok(resource(StatusCode::CREATED, served, &Selection::default()))
}

/// `GET /Groups/{id}`.
async fn get_group(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(&state, &tenant, &headers).await?;
    let (_, selection) = from_query(query.as_deref())?;
    let served = state
        .portico
        .scim_get_group(&tenant, &id, selection.wants("members"))
        .await?;
    Ok(read_response(&headers, served, &selection))
}

/// `PUT /Groups/{id}`.
async fn replace_group(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let precondition = precondition(&headers)?;
    let body = json_body(&body)?;
    let served = state
        .portico
        .scim_replace_group(&tenant, &who, &id, &body, &precondition)
        .await?;
    Ok(resource(StatusCode::OK, served, &Selection::default()))
}

/// `PATCH /Groups/{id}`: 204 with the new ETag.
async fn patch_group(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let precondition = precondition(&headers)?;
    let body = json_body(&body)?;
    let version = state
        .portico
        .scim_patch_group(&tenant, &who, &id, &body, &precondition)
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// `DELETE /Groups/{id}`.
async fn delete_group(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let precondition = precondition(&headers)?;
    state
        .portico
        .scim_delete_group(&tenant, &who, &id, &precondition)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The Groups routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/scim/v2/Groups",
            get(list_groups).post(create_group),
        )
        .route("/{tenant}/scim/v2/Groups/.search", post(search_groups))
        .route(
            "/{tenant}/scim/v2/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
}
