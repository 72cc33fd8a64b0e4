//! Admin API: custom authentication extensions, their test call and their call log.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use portico_core::directory::TenantRef;
use portico_core::extensions::{Extension, ExtensionCall, NewExtension};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminAuth;
use super::body::Body;
use crate::AppState;
use crate::error::Problem;

/// An extension to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExtension {
    /// A name, unique in the tenant.
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub name: String,
    /// The step it is called at.
    #[schema(value_type = ExtensionEventName)]
    pub event: String,
    /// `https://…`, or `http://` to a loopback address.
    #[schema(min_length = 1, max_length = 2048)]
    pub target_url: String,
    /// The audience of the calls' tokens (an app id the receiver trusts); absent: Portico
    /// registers a resource app.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub resource_app_id: Option<String>,
    /// Client ids of the apps it serves; empty: all.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub apps: Vec<String>,
    /// One attempt's limit, 200 to 2000 ms (default 1000).
    #[serde(default, deserialize_with = "super::body::whole_number")]
    #[schema(minimum = 200, maximum = 2000)]
    pub timeout_ms: Option<u32>,
    /// Attempts after the first, 0 or 1 (default 1).
    #[serde(default, deserialize_with = "super::body::whole_number")]
    #[schema(minimum = 0, maximum = 1)]
    pub retries: Option<u8>,
    /// Claims it may provide (token-issuance-start), at most 50.
    #[serde(default)]
    #[schema(value_type = Vec<ClaimName>, max_items = 50)]
    pub claims: Vec<String>,
    /// otp-send: Portico's mailer sends the code when the call fails.
    #[serde(default)]
    pub fallback: bool,
    /// password-submit (required there): the PEM public key or certificate whose RSA key
    /// (2048 bits or more) passwords are encrypted to.
    #[serde(default)]
    pub encryption_key: Option<String>,
}

/// A claim name: 1-128 letters, digits, `_`, `-`, `.` and `:`.
#[derive(ToSchema)]
#[schema(as = ClaimName, value_type = String, pattern = r"^[A-Za-z0-9_.:-]{1,128}$")]
#[allow(dead_code)]
pub struct ClaimName(String);

/// The events extensions are attached to.
#[derive(ToSchema)]
#[schema(as = ExtensionEventName)]
#[allow(dead_code)]
pub enum ExtensionEventName {
    /// Claims for tokens.
    #[schema(rename = "token-issuance-start")]
    TokenIssuanceStart,
    /// Before the sign-up page.
    #[schema(rename = "attribute-collection-start")]
    AttributeCollectionStart,
    /// After the sign-up page.
    #[schema(rename = "attribute-collection-submit")]
    AttributeCollectionSubmit,
    /// Delivering a one-time code.
    #[schema(rename = "otp-send")]
    OtpSend,
    /// Just-in-time password migration.
    #[schema(rename = "password-submit")]
    PasswordSubmit,
}

/// A registered extension.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionOut {
    /// Its id (`customAuthenticationExtensionId`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its event.
    #[schema(value_type = ExtensionEventName)]
    pub event: String,
    /// Where it is called.
    pub target_url: String,
    /// The `aud` of its calls' tokens.
    pub resource_app_id: String,
    /// It serves every app of the tenant.
    pub all_apps: bool,
    /// The apps it serves (when not all; an extension whose apps were all deleted serves none).
    pub apps: Vec<String>,
    /// One attempt's limit.
    pub timeout_ms: u32,
    /// Attempts after the first.
    pub retries: u8,
    /// Claims it may provide.
    pub claims: Vec<String>,
    /// otp-send falls back to Portico's mailer.
    pub fallback: bool,
    /// password-submit: the id of the key passwords are encrypted to (the `kid` of the JWE).
    pub encryption_key_id: Option<String>,
    /// Registration time (Unix seconds).
    pub created_at: i64,
}

impl From<Extension> for ExtensionOut {
    fn from(extension: Extension) -> Self {
        let encryption_key_id = extension.encryption_key_id();
        Self {
            id: extension.id,
            name: extension.name,
            event: extension.event.as_str().to_owned(),
            target_url: extension.target_url,
            resource_app_id: extension.resource_app_id,
            all_apps: extension.all_apps,
            apps: extension.apps.iter().map(ToString::to_string).collect(),
            timeout_ms: extension.timeout_ms,
            retries: extension.retries,
            claims: extension.claims,
            fallback: extension.fallback,
            encryption_key_id,
            created_at: extension.created_at,
        }
    }
}

/// What a test call sent and how the answer was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionTestOut {
    /// The request body sent.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The answer was accepted.
    pub ok: bool,
    /// The action and its fields, when accepted.
    #[schema(value_type = Option<Object>)]
    pub answer: Option<serde_json::Value>,
    /// Entra's error number, when refused.
    pub error_code: Option<u32>,
    /// Entra's error name and the particulars, when refused.
    pub error: Option<String>,
}

/// One call to an extension.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionCallOut {
    /// The extension.
    pub extension_id: String,
    /// Its event.
    #[schema(value_type = ExtensionEventName)]
    pub event: String,
    /// The correlation id sent.
    pub correlation_id: String,
    /// The app.
    pub client_id: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
    /// `ok`, `timeout`, `connection`, `forbidden`, `refused` or `error`.
    pub outcome: String,
    /// Entra's error number.
    pub error_code: Option<u32>,
    /// What was wrong.
    pub detail: Option<String>,
    /// Milliseconds, retries included.
    pub latency_ms: u32,
    /// Attempts made.
    pub attempts: u8,
}

impl From<ExtensionCall> for ExtensionCallOut {
    fn from(call: ExtensionCall) -> Self {
        Self {
            extension_id: call.extension_id,
            event: call.event.as_str().to_owned(),
            correlation_id: call.correlation_id,
            client_id: call.client_id.map(|c| c.to_string()),
            at: call.at,
            outcome: call.outcome,
            error_code: call.error_code,
            detail: call.detail,
            latency_ms: call.latency_ms,
            attempts: call.attempts,
        }
    }
}

fn unprocessable(message: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// Register an extension.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/extensions", request_body = CreateExtension,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = ExtensionOut), (status = 400), (status = 401), (status = 404),
              (status = 409), (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_extension(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<CreateExtension>,
) -> Result<(StatusCode, axum::Json<ExtensionOut>), Problem> {
    let event = body.event.parse().map_err(unprocessable)?;
    let apps = body
        .apps
        .iter()
        .map(|app| {
            app.parse()
                .map_err(|_| unprocessable(format!("{app:?} is not a client id")))
        })
        .collect::<Result<_, _>>()?;
    let extension = state
        .portico
        .create_extension(
            &TenantRef::parse(&tenant),
            NewExtension {
                name: body.name,
                event,
                target_url: body.target_url,
                resource_app_id: body.resource_app_id,
                apps,
                timeout_ms: body.timeout_ms,
                retries: body.retries,
                claims: body.claims,
                fallback: body.fallback,
                encryption_key: body.encryption_key,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(extension.into())))
}

/// List a tenant's extensions.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/extensions",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = [ExtensionOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_extensions(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<Vec<ExtensionOut>>, Problem> {
    let extensions = state
        .portico
        .list_extensions(&TenantRef::parse(&tenant))
        .await?;
    Ok(axum::Json(extensions.into_iter().map(Into::into).collect()))
}

/// Show an extension.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/extensions/{extension}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("extension" = String, Path, description = "Extension id")),
    responses((status = 200, body = ExtensionOut), (status = 401), (status = 404)))]
pub(crate) async fn show_extension(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<axum::Json<ExtensionOut>, Problem> {
    let extension = state
        .portico
        .show_extension(&TenantRef::parse(&tenant), &id)
        .await?;
    Ok(axum::Json(extension.into()))
}

/// Delete an extension.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/extensions/{extension}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("extension" = String, Path, description = "Extension id")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn delete_extension(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .delete_extension(&TenantRef::parse(&tenant), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Call an extension with a sample payload of its event.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/extensions/{extension}/test",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("extension" = String, Path, description = "Extension id")),
    responses((status = 200, body = ExtensionTestOut), (status = 401), (status = 404)))]
pub(crate) async fn test_extension(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<axum::Json<ExtensionTestOut>, Problem> {
    let trial = state
        .portico
        .test_extension(&TenantRef::parse(&tenant), &id)
        .await?;
    let out = match trial.answer {
        Ok(answer) => ExtensionTestOut {
            request: trial.payload,
            ok: true,
            answer: Some(answer.to_json()),
            error_code: None,
            error: None,
        },
        Err(err) => ExtensionTestOut {
            request: trial.payload,
            ok: false,
            answer: None,
            error_code: Some(err.error.code),
            error: Some(err.error.to_string()),
        },
    };
    Ok(axum::Json(out))
}

/// Which calls.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    /// Only calls at or after this time (Unix seconds).
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// At most this many (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The tenant's latest extension calls, newest first (kept 30 days).
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/extension-calls",
    params(("tenant" = String, Path, description = "Tenant name or id"), CallsQuery),
    responses((status = 200, body = [ExtensionCallOut]), (status = 400), (status = 401), (status = 404)))]
pub(crate) async fn extension_calls(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<Vec<ExtensionCallOut>>, Problem> {
    let query: CallsQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("bad query: {e}")))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) || query.since.is_some_and(|s| s < 0) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "since is Unix seconds (0 or more); limit is 1 to 1000",
        ));
    }
    let calls = state
        .portico
        .extension_calls(&TenantRef::parse(&tenant), query.since.unwrap_or(0), limit)
        .await?;
    Ok(axum::Json(calls.into_iter().map(Into::into).collect()))
}
