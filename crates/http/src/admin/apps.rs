//! `/admin/api/v1/tenants/{tenant}/applications`: register, list, read, change and delete
//! applications.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::directory::{
    AppChanges, AppKind, Application, LogoutUris, NewApplication, TenantRef,
};
use portico_core::ids::ClientId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::api_body::ApiBody;
use super::body::Body;
use super::handlers::AppKindName;
use crate::AppState;
use crate::error::Problem;

/// Request to register an application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    /// Display name (1 to 256 characters, not only spaces).
    #[schema(min_length = 1, max_length = 256, pattern = "[^\\s]")]
    pub name: String,
    /// `web`, `spa`, `native` or `daemon`.
    #[schema(value_type = AppKindName)]
    pub kind: String,
    /// Redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Application ID URI for client-credentials scopes.
    #[serde(default)]
    pub identifier_uri: Option<String>,
    /// User attributes to put into the app's tokens as claims (built-in or custom names).
    #[serde(default)]
    pub optional_claims: Vec<String>,
    /// Enable the native authentication API (spa and native apps only).
    #[serde(default)]
    pub native_auth: bool,
    /// Browser origins allowed to call the native authentication API (`https://app.example`).
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Public JWKs (a JWK Set) the app signs `private_key_jwt` assertions with (web and daemon
    /// apps; RSA, EC or Ed25519, never private or symmetric keys).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub client_keys: Option<serde_json::Value>,
    /// Where the app hears, server to server, that a session it served ended (OpenID Connect
    /// Back-Channel Logout 1.0; https, or http for localhost).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The app's page the sign-out page frames (Front-Channel Logout 1.0; web and spa apps,
    /// on the scheme, host and port of a redirect URI).
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
}

/// A registered application; the secret is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCreated {
    /// Client id.
    pub client_id: String,
    /// Client secret (web and daemon apps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// An application as stored (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationOut {
    /// Client id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// `web`, `spa`, `native` or `daemon`.
    #[schema(value_type = AppKindName)]
    pub kind: String,
    /// Redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Application ID URI.
    pub identifier_uri: Option<String>,
    /// User attributes put into the app's tokens.
    pub optional_claims: Vec<String>,
    /// The native authentication API is on.
    pub native_auth: bool,
    /// Browser origins allowed to call the native authentication API.
    pub cors_origins: Vec<String>,
    /// The API the app exposes.
    pub api: ApiBody,
    /// Only users and client apps holding one of this app's roles get tokens for it.
    pub assignment_required: bool,
    /// The device code flow (RFC 8628) is on for this native or web app.
    pub device_code: bool,
    /// Authorization requests must be pushed first (RFC 9126).
    pub require_par: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 `dpop_bound_access_tokens`).
    pub require_dpop: bool,
    /// The `groups` claim: `off`, `ids` (every group of the user) or `names` (the groups
    /// assigned to the app).
    pub groups_claim: String,
    /// Access-token lifetime in seconds; absent: the server's.
    pub access_token_lifetime_secs: Option<i64>,
    /// Refresh-token idle lifetime in seconds; absent: the server's.
    pub refresh_token_lifetime_secs: Option<i64>,
    /// The JWK Set of public keys for `private_key_jwt`.
    #[schema(value_type = Object)]
    pub client_keys: serde_json::Value,
    /// Tokens from the authorization endpoint: `off`, `id-token` or `id-token-and-token`.
    #[schema(value_type = ImplicitName)]
    pub implicit: String,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    /// Front-channel logout URI.
    pub frontchannel_logout_uri: Option<String>,
    /// Claims from custom authentication extensions, renamed in this app's tokens.
    pub claim_mappings: Vec<ClaimMappingBody>,
    /// Registration time (Unix seconds).
    pub created_at: i64,
}

impl From<Application> for ApplicationOut {
    fn from(app: Application) -> Self {
        Self {
            client_id: app.client_id.to_string(),
            name: app.name,
            kind: app.kind.as_str().to_owned(),
            redirect_uris: app.redirect_uris,
            identifier_uri: app.identifier_uri,
            optional_claims: app.optional_claims,
            native_auth: app.native_auth,
            cors_origins: app.cors_origins,
            api: app.api.into(),
            assignment_required: app.assignment_required,
            device_code: app.device_code,
            require_par: app.require_par,
            require_dpop: app.require_dpop,
            groups_claim: app.groups_claim.as_str().to_owned(),
            access_token_lifetime_secs: app.access_token_lifetime_secs,
            refresh_token_lifetime_secs: app.refresh_token_lifetime_secs,
            client_keys: serde_json::json!({ "keys": app.client_keys }),
            implicit: app.implicit.as_str().to_owned(),
            backchannel_logout_uri: app.logout.backchannel,
            frontchannel_logout_uri: app.logout.frontchannel,
            claim_mappings: app
                .claim_mappings
                .into_iter()
                .map(|m| ClaimMappingBody {
                    source: m.source,
                    claim: m.claim,
                })
                .collect(),
            created_at: app.created_at,
        }
    }
}

/// Changes to an application; fields left out stay as they are, and a list given replaces
/// the old one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplication {
    /// Display name (1 to 256 characters, not only spaces).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256, pattern = "[^\\s]")]
    pub name: Option<String>,
    /// Redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// User attributes to put into the app's tokens as claims.
    #[serde(default)]
    pub optional_claims: Option<Vec<String>>,
    /// The native authentication API (spa and native apps only); turning it off also clears
    /// the CORS origins.
    #[serde(default)]
    pub native_auth: Option<bool>,
    /// Browser origins allowed to call the native authentication API.
    #[serde(default)]
    pub cors_origins: Option<Vec<String>>,
    /// Only users and client apps holding one of this app's roles get tokens for it.
    #[serde(default)]
    pub assignment_required: Option<bool>,
    /// The device code flow (RFC 8628), for native and web apps only.
    #[serde(default)]
    pub device_code: Option<bool>,
    /// Authorization requests must be pushed first (RFC 9126).
    #[serde(default)]
    pub require_par: Option<bool>,
    /// Every token request must carry a DPoP proof (RFC 9449): the app gets no bearer tokens.
    #[serde(default)]
    pub require_dpop: Option<bool>,
    /// The `groups` claim: `off`, `ids` (every group of the user) or `names` (the groups
    /// assigned to the app).
    #[serde(default)]
    pub groups_claim: Option<GroupsClaimBody>,
    /// Access-token lifetime in seconds (300 to 86400); null: back to the server's.
    #[serde(default, deserialize_with = "super::body::nullable_whole_number")]
    #[schema(minimum = 300, maximum = 86400)]
    pub access_token_lifetime_secs: Option<Option<i64>>,
    /// Refresh-token idle lifetime in seconds (600 to 7776000); null: back to the server's.
    #[serde(default, deserialize_with = "super::body::nullable_whole_number")]
    #[schema(minimum = 600, maximum = 7776000)]
    pub refresh_token_lifetime_secs: Option<Option<i64>>,
    /// Public JWKs for `private_key_jwt` (a JWK Set), replacing the old ones.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub client_keys: Option<serde_json::Value>,
    /// Tokens from the authorization endpoint (web and spa apps).
    #[serde(default)]
    #[schema(value_type = Option<ImplicitName>)]
    pub implicit: Option<String>,
    /// Back-channel logout URI; null removes it.
    #[serde(default, deserialize_with = "super::body::nullable")]
    #[schema(value_type = Option<String>)]
    pub backchannel_logout_uri: Option<Option<String>>,
    /// Front-channel logout URI; null removes it.
    #[serde(default, deserialize_with = "super::body::nullable")]
    #[schema(value_type = Option<String>)]
    pub frontchannel_logout_uri: Option<Option<String>>,
    /// Names for claims extensions provide (Entra's claims-mapping policy), replacing the
    /// old ones.
    #[serde(default)]
    pub claim_mappings: Option<Vec<ClaimMappingBody>>,
}

/// A claim an extension provides (`source`, case-sensitive), emitted as `claim`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMappingBody {
    /// The claim's name in the extension's answer.
    pub source: String,
    /// Its name in the token.
    pub claim: String,
}

/// Which tokens the authorization endpoint may return to an app.
#[derive(ToSchema)]
#[schema(as = ImplicitName)]
#[allow(dead_code)]
pub enum ImplicitName {
    /// Codes only.
    #[schema(rename = "off")]
    Off,
    /// ID tokens too.
    #[schema(rename = "id-token")]
    IdToken,
    /// ID tokens and access tokens too.
    #[schema(rename = "id-token-and-token")]
    IdTokenAndToken,
}

/// The keys of a `client_keys` field (a JWK Set, or one JWK), checked.
fn client_keys(
    value: Option<serde_json::Value>,
) -> Result<Option<Vec<portico_core::directory::ClientKey>>, Problem> {
    value
        .map(|value| {
            portico_core::directory::parse_client_keys(&value.to_string())
                .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
        })
        .transpose()
}

/// A client id from the path; one that cannot be a client id names no application.
pub(crate) fn client_id(raw: &str) -> Result<ClientId, Problem> {
    raw.parse()
        .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "application not found"))
}

/// Register an application.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/applications", request_body = CreateApplication,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = ApplicationCreated), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_application(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<CreateApplication>,
) -> Result<Response, Problem> {
    let kind: AppKind = body
        .kind
        .parse()
        .map_err(|e: String| Problem::new(StatusCode::BAD_REQUEST, e))?;
    let created = state
        .portico
        .create_application(
            &TenantRef::parse(&tenant),
            NewApplication {
                name: body.name,
                kind,
                redirect_uris: body.redirect_uris,
                identifier_uri: body.identifier_uri,
                optional_claims: body.optional_claims,
                native_auth: body.native_auth,
                cors_origins: body.cors_origins,
                client_keys: client_keys(body.client_keys)?.unwrap_or_default(),
                logout: LogoutUris {
                    backchannel: body.backchannel_logout_uri,
                    frontchannel: body.frontchannel_logout_uri,
                },
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ApplicationCreated {
            client_id: created.application.client_id.to_string(),
            client_secret: created.client_secret,
        }),
    )
        .into_response())
}

/// List a tenant's applications, oldest first.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = [ApplicationOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_applications(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<Vec<ApplicationOut>>, Problem> {
    let apps = state
        .portico
        .list_applications(&TenantRef::parse(&tenant))
        .await?;
    Ok(axum::Json(apps.into_iter().map(Into::into).collect()))
}

/// Read an application.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ApplicationOut), (status = 401), (status = 404)))]
pub(crate) async fn get_application(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<axum::Json<ApplicationOut>, Problem> {
    let app = state
        .portico
        .show_application(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(axum::Json(app.into()))
}

/// Change an application.
#[utoipa::path(patch, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}",
    request_body = UpdateApplication,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ApplicationOut), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn update_application(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    Body(body): Body<UpdateApplication>,
) -> Result<axum::Json<ApplicationOut>, Problem> {
    let changes = AppChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        optional_claims: body.optional_claims,
        native_auth: body.native_auth,
        cors_origins: body.cors_origins,
        assignment_required: body.assignment_required,
        device_code: body.device_code,
        require_par: body.require_par,
        require_dpop: body.require_dpop,
        groups_claim: body.groups_claim.map(Into::into),
        access_token_lifetime_secs: body.access_token_lifetime_secs,
        refresh_token_lifetime_secs: body.refresh_token_lifetime_secs,
        client_keys: client_keys(body.client_keys)?,
        implicit: body
            .implicit
            .map(|v| v.parse())
            .transpose()
            .map_err(|e: String| Problem::new(StatusCode::BAD_REQUEST, e))?,
        backchannel_logout_uri: body.backchannel_logout_uri,
        frontchannel_logout_uri: body.frontchannel_logout_uri,
        claim_mappings: body.claim_mappings.map(|list| {
            list.into_iter()
                .map(|m| portico_core::directory::ClaimMapping {
                    source: m.source,
                    claim: m.claim,
                })
                .collect()
        }),
        ..AppChanges::default()
    };
    let app = state
        .portico
        .update_application(&TenantRef::parse(&tenant), client_id(&app)?, changes)
        .await?;
    Ok(axum::Json(app.into()))
}

/// Delete an application: its grants end (codes and refresh tokens stop working).
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn delete_application(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .delete_application(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `groups` claim setting of an app.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupsClaimBody {
    /// No `groups` claim.
    Off,
    /// Every group of the user, by id.
    Ids,
    /// The groups assigned to the app, by name.
    Names,
}

impl From<GroupsClaimBody> for portico_core::directory::GroupsClaim {
    fn from(body: GroupsClaimBody) -> Self {
        match body {
            GroupsClaimBody::Off => Self::Off,
            GroupsClaimBody::Ids => Self::Ids,
            GroupsClaimBody::Names => Self::Names,
        }
    }
}
