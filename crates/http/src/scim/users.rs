//! `/{tenant}/scim/v2/Users`: list (with filter, sort, paging and attribute selection), search
//! by POST, create, read, replace, patch and delete. Writes honour `If-Match`, reads
//! `If-None-Match`; every answer carries the resource's ETag.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portico_core::scim::ListParams;

use super::request::{
    Selection, from_query, from_search, json_body, list_response, precondition, read_response,
    resource,
};
use super::{ScimError, bearer_at, caller};
use crate::AppState;

async fn list(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    params: ListParams,
    selection: Selection,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(state, tenant, headers).await?;
    let page = state.portico.scim_list_users(&tenant, &params).await?;
    Ok(list_response(page, &selection))
}

/// `GET /Users`.
async fn list_users(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (params, selection) = from_query(query.as_deref())?;
    list(&state, &tenant, &headers, params, selection).await
}

/// `POST /Users/.search`.
async fn search_users(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    caller(&state, &tenant, &headers).await?;
    let (params, selection) = from_search(&json_body(&body)?)?;
    list(&state, &tenant, &headers, params, selection).await
}

/// `POST /Users`.
async fn create_user(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let body = json_body(&body)?;
    let served = state.portico.scim_create_user(&tenant, &who, &body).await?;
    Ok(resource(StatusCode::CREATED, served, &Selection::default()))
}

/// `GET /Users/{id}`.
async fn get_user(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, _) = caller(&state, &tenant, &headers).await?;
    let (_, selection) = from_query(query.as_deref())?;
    let served = state.portico.scim_get_user(&tenant, &id).await?;
    Ok(read_response(&headers, served, &selection))
}

/// `PUT /Users/{id}`.
async fn replace_user(
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
        .scim_replace_user(&tenant, &who, &id, &body, &precondition)
        .await?;
    Ok(resource(StatusCode::OK, served, &Selection::default()))
}

/// `PATCH /Users/{id}`.
async fn patch_user(
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
        .scim_patch_user(&tenant, &who, &id, &body, &precondition)
        .await?;
    Ok(resource(StatusCode::OK, served, &Selection::default()))
}

/// `DELETE /Users/{id}`.
async fn delete_user(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, who) = caller(&state, &tenant, &headers).await?;
    let precondition = precondition(&headers)?;
    state
        .portico
        .scim_delete_user(&tenant, &who, &id, &precondition)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /Me` (RFC 7644 §3.11): the signed-in user's own record, for a bearer access token
/// of that user. Changes go through the profile pages, not here.
async fn me(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let (tenant, bearer) = bearer_at(&state, &tenant, &headers).await?;
    let (_, selection) = from_query(query.as_deref())?;
    let served = state
        .portico
        .scim_me(&tenant, bearer)
        .await?
        .ok_or_else(|| {
            ScimError::new(
                StatusCode::UNAUTHORIZED,
                "/Me takes a user's access token of this tenant",
            )
        })?;
    Ok(read_response(&headers, served, &selection))
}

/// The Users routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/scim/v2/Users", get(list_users).post(create_user))
        .route("/{tenant}/scim/v2/Users/.search", post(search_users))
        .route("/{tenant}/scim/v2/Me", get(me))
        .route(
            "/{tenant}/scim/v2/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
}
