//! `/admin/api/v1/tenants/{tenant}/settings`: where a tenant's texts may go, how long its
//! tokens last, and whether apps may register themselves.

use axum::extract::{Path, State};
use portico_core::directory::{TenantRef, TenantSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::body::Body;
use crate::AppState;
use crate::error::Problem;

/// A tenant's settings; absent fields take the server's defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsBody {
    /// Country calling codes texts may go to (`+1`, `+44`); empty: anywhere.
    #[serde(default)]
    #[schema(schema_with = country_codes)]
    pub sms_countries: Vec<String>,
    /// Absolute refresh-token lifetime in days (1 to 365); absent: 90.
    #[serde(default, deserialize_with = "super::body::whole_number")]
    #[schema(minimum = 1, maximum = 365)]
    pub refresh_token_max_days: Option<u32>,
    /// Access-token lifetime in seconds (300 to 86400) for apps that set none; absent: the
    /// server's.
    #[serde(default, deserialize_with = "super::body::whole_number")]
    #[schema(minimum = 300, maximum = 86400)]
    pub access_token_lifetime_secs: Option<i64>,
    /// Dynamic client registration (RFC 7591/7592) with an initial access token.
    #[serde(default)]
    pub dynamic_registration: bool,
    /// The API (client id) whose access tokens holding `SCIM.ReadWrite` or `SCIM.Read` may
    /// call the tenant's SCIM endpoint; absent: SCIM tokens only.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub scim_api: Option<String>,
    /// The `azp` of the tokens on calls to custom authentication extensions; absent: Entra's
    /// authentication-events app id, which receivers written for Entra check.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub callout_azp: Option<String>,
}

/// The schema of a list of country calling codes: `+` and 1 to 3 digits each.
fn country_codes() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .pattern(Some(r"^\+[1-9][0-9]{0,2}$")),
        )
        .build()
}

impl From<TenantSettings> for TenantSettingsBody {
    fn from(settings: TenantSettings) -> Self {
        Self {
            sms_countries: settings.sms_countries,
            refresh_token_max_days: settings.refresh_token_max_days,
            access_token_lifetime_secs: settings.access_token_lifetime_secs,
            dynamic_registration: settings.dynamic_registration,
            scim_api: settings.scim_api.map(|api| api.to_string()),
            callout_azp: settings.callout_azp,
        }
    }
}

/// Read a tenant's settings.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/settings",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = TenantSettingsBody), (status = 401), (status = 404)))]
pub(crate) async fn get_settings(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<TenantSettingsBody>, Problem> {
    let tenant = state.portico.tenant(&TenantRef::parse(&tenant)).await?;
    let settings = state.portico.tenant_settings(tenant.id).await?;
    Ok(axum::Json((*settings).clone().into()))
}

/// Replace a tenant's settings.
#[utoipa::path(put, path = "/admin/api/v1/tenants/{tenant}/settings", request_body = TenantSettingsBody,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = TenantSettingsBody), (status = 400), (status = 401),
              (status = 404), (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn put_settings(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<TenantSettingsBody>,
) -> Result<axum::Json<TenantSettingsBody>, Problem> {
    let tenant = TenantRef::parse(&tenant);
    // The passkey policy has its own endpoint and command; replacing these settings keeps it.
    let passkeys = state
        .portico
        .tenant_settings_of(&tenant)
        .await?
        .passkeys
        .clone();
    let saved = state
        .portico
        .set_tenant_settings(
            &tenant,
            TenantSettings {
                sms_countries: body.sms_countries,
                refresh_token_max_days: body.refresh_token_max_days,
                access_token_lifetime_secs: body.access_token_lifetime_secs,
                dynamic_registration: body.dynamic_registration,
                scim_api: body
                    .scim_api
                    .map(|api| {
                        api.parse().map_err(|_| {
                            Problem::new(
                                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                                "scim_api is the client id of an application of the tenant",
                            )
                        })
                    })
                    .transpose()?,
                callout_azp: body.callout_azp,
                passkeys,
            },
        )
        .await?;
    Ok(axum::Json(saved.into()))
}
