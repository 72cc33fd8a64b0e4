use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::directory::{
    AttributeSpec, Branding, MfaMethod, MfaPolicy, NewUser, NewUserFlow, SignInMethod, Tenant,
    TenantRef, User, UserFlow, UserFlowConfig,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::body::Body;
use crate::AppState;
use crate::error::Problem;

/// Request to create a tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// URL-friendly name: 2 to 63 lower-case letters, digits and inner hyphens (a few names
    /// are reserved: 422).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")]
    pub name: String,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default)]
    #[schema(value_type = Option<SigningAlgName>)]
    pub signing_alg: Option<String>,
}

/// Token signing algorithms (schema only).
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum SigningAlgName {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

/// Application kinds (schema only).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum AppKindName {
    /// Confidential web app.
    Web,
    /// Single-page app.
    Spa,
    /// Mobile or desktop app.
    Native,
    /// Service without users (client credentials).
    Daemon,
}

/// First-factor methods (schema only).
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum SignInMethodName {
    /// Email and password.
    Password,
    /// An emailed one-time code.
    EmailOtp,
    /// A passkey.
    Passkey,
}

/// Second-factor kinds (schema only).
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum MfaMethodName {
    /// An emailed code.
    EmailOtp,
    /// A texted code.
    Sms,
    /// An authenticator app.
    Totp,
    /// A passkey.
    Passkey,
}

/// An attribute collected at sign-up (schema only; the combinations that make sense, such as
/// a select input with options, are checked by the server: 422).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttributeSpecSchema {
    /// Built-in (displayName, givenName, surname, city, country, postalCode, state,
    /// streetAddress, jobTitle) or custom name.
    name: String,
    /// Value type.
    #[schema(rename = "type")]
    value_type: AttributeTypeName,
    /// Input kind.
    input: InputKindName,
    /// Must the customer fill it in?
    #[serde(default)]
    required: bool,
    /// A regular expression the whole value must match.
    regex: Option<String>,
    /// Choices for select inputs.
    #[serde(default)]
    options: Vec<String>,
    /// Label on the page.
    label: Option<String>,
}

/// Attribute value types (schema only).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AttributeTypeName {
    /// Text.
    String,
    /// Whole number.
    Int,
    /// Yes or no.
    Bool,
}

/// Entra's attribute input kinds (schema only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum InputKindName {
    /// A text field.
    TextBox,
    /// One of several options.
    RadioSingleSelect,
    /// Any of several options.
    CheckboxMultiSelect,
    /// A single checkbox.
    CheckboxSingleSelect,
    /// A number field.
    NumericTextBox,
}

/// MFA policies (schema only).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum MfaPolicyName {
    /// No second factor.
    Off,
    /// A second factor on every sign-in.
    Required,
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    /// GUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Token signing algorithm.
    pub signing_alg: String,
}

impl From<Tenant> for TenantOut {
    fn from(tenant: Tenant) -> Self {
        Self {
            id: tenant.id.to_string(),
            name: tenant.name,
            signing_alg: tenant.signing_alg.to_string(),
        }
    }
}

/// Request to create a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Sign-in email.
    #[schema(
        max_length = 254,
        pattern = "^[^\\s@\\x00-\\x1f\\x7f-\\x9f]{1,64}@[^\\s@.\\x00-\\x1f\\x7f-\\x9f]([^\\s@\\x00-\\x1f\\x7f-\\x9f]*[^\\s@.\\x00-\\x1f\\x7f-\\x9f])?$"
    )]
    pub email: String,
    /// Initial password (8-256 characters; common and breached passwords are refused: 422).
    #[serde(default)]
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The password is in a legacy store: a password-submit extension checks it at the
    /// first sign-in, and Portico keeps it from then on (no `password` with it: 422).
    #[serde(default)]
    pub legacy_password: bool,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Object id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the user may sign in.
    pub enabled: bool,
}

impl From<User> for UserOut {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email,
            display_name: user.display_name,
            enabled: user.enabled,
        }
    }
}

/// Changes to a user; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// `false` blocks sign-in, ends the user's sessions and revokes their grants.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// List tenants.
#[utoipa::path(get, path = "/admin/api/v1/tenants", responses((status = 200, body = [TenantOut]), (status = 401)))]
pub(crate) async fn list_tenants(
    _auth: AdminAuth,
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<TenantOut>>, Problem> {
    let tenants = state.portico.list_tenants().await?;
    Ok(axum::Json(
        tenants.into_iter().map(TenantOut::from).collect(),
    ))
}

/// Create a tenant (with its signing keys).
#[utoipa::path(post, path = "/admin/api/v1/tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantOut), (status = 400), (status = 401), (status = 409),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_tenant(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Body(body): Body<CreateTenant>,
) -> Result<Response, Problem> {
    let alg = match body.signing_alg.as_deref() {
        None => Default::default(),
        Some(alg) => alg.parse().map_err(|e: portico_keys::KeyError| {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        })?,
    };
    let tenant = state.portico.create_tenant(&body.name, alg).await?;
    Ok((StatusCode::CREATED, axum::Json(TenantOut::from(tenant))).into_response())
}

/// Create a user.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/users", request_body = CreateUser,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = UserOut), (status = 400), (status = 401), (status = 404), (status = 409),
              (status = 413), (status = 415), (status = 422), (status = 503)))]
pub(crate) async fn create_user(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<CreateUser>,
) -> Result<Response, Problem> {
    let user = state
        .portico
        .create_user(
            &TenantRef::parse(&tenant),
            NewUser {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
                legacy_password: body.legacy_password,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserOut::from(user))).into_response())
}

/// Read a user.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/users/{user}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 200, body = UserOut), (status = 401), (status = 404)))]
pub(crate) async fn get_user(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<axum::Json<UserOut>, Problem> {
    let user = state
        .portico
        .find_user(&TenantRef::parse(&tenant), &user)
        .await?;
    Ok(axum::Json(user.into()))
}

/// Sign a user out everywhere: every SSO session and refresh-token family ends (Entra's
/// `revokeSignInSessions`); the account stays enabled.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/users/{user}/revoke-sessions",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn revoke_user_sessions(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .revoke_sessions(&TenantRef::parse(&tenant), &user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a user (enable or disable sign-in).
#[utoipa::path(patch, path = "/admin/api/v1/tenants/{tenant}/users/{user}", request_body = UpdateUser,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 200, body = UserOut), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415)))]
pub(crate) async fn update_user(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
    Body(body): Body<UpdateUser>,
) -> Result<axum::Json<UserOut>, Problem> {
    let tenant = TenantRef::parse(&tenant);
    let user = match body.enabled {
        Some(enabled) => {
            state
                .portico
                .set_user_enabled(&tenant, &user, enabled)
                .await?
        }
        None => state.portico.find_user(&tenant, &user).await?,
    };
    Ok(axum::Json(user.into()))
}

/// Rotate a tenant's signing keys.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/keys/rotate",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn rotate_keys(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .rotate_keys(&TenantRef::parse(&tenant))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user flow, as created and listed. Attributes follow Entra's model: built-in names
/// (displayName, givenName, surname, city, country, postalCode, state, streetAddress, jobTitle)
/// or custom ones, with `type` string|int|bool, `input` TextBox|RadioSingleSelect|
/// CheckboxMultiSelect|CheckboxSingleSelect|NumericTextBox, `required`, `regex`, `options`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserFlowBody {
    /// Name, unique in the tenant: 1 to 64 letters, digits, `-` or `_`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// First-factor methods: "password", "email-otp", "passkey".
    #[schema(value_type = Vec<SignInMethodName>, min_items = 1)]
    pub methods: Vec<SignInMethod>,
    /// Self-service sign-up on or off.
    #[serde(default = "yes")]
    pub sign_up: bool,
    /// Attributes collected at sign-up.
    #[serde(default)]
    #[schema(value_type = Vec<AttributeSpecSchema>)]
    pub attributes: Vec<AttributeSpec>,
    /// "off" or "required".
    #[serde(default)]
    #[schema(value_type = MfaPolicyName)]
    pub mfa: MfaPolicy,
    /// Second factors: "email-otp", "sms", "totp", "passkey".
    #[serde(default)]
    #[schema(value_type = Vec<MfaMethodName>)]
    pub mfa_methods: Vec<MfaMethod>,
    /// After a sign-in or sign-up on the hosted pages, offer to make a passkey (skippable).
    #[serde(default)]
    pub offer_passkey: bool,
    /// Client ids of the apps this flow serves.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub apps: Vec<String>,
}

/// A user flow as stored: what was sent, its id, and whether it is the tenant's default.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserFlowOut {
    /// Id.
    pub id: String,
    /// Name, unique in the tenant.
    pub name: String,
    /// First-factor methods.
    #[schema(value_type = Vec<SignInMethodName>)]
    pub methods: Vec<SignInMethod>,
    /// Self-service sign-up on or off.
    pub sign_up: bool,
    /// Attributes collected at sign-up.
    #[schema(value_type = Vec<Object>)]
    pub attributes: Vec<AttributeSpec>,
    /// The MFA policy.
    #[schema(value_type = MfaPolicyName)]
    pub mfa: MfaPolicy,
    /// Second factors.
    #[schema(value_type = Vec<MfaMethodName>)]
    pub mfa_methods: Vec<MfaMethod>,
    /// After a sign-in or sign-up on the hosted pages, offer to make a passkey.
    pub offer_passkey: bool,
    /// Client ids of the apps this flow serves.
    pub apps: Vec<String>,
    /// Whether this is the tenant's default flow (serves every app no other flow lists).
    pub is_default: bool,
}

fn yes() -> bool {
    true
}

impl From<UserFlow> for UserFlowOut {
    fn from(flow: UserFlow) -> Self {
        Self {
            id: flow.id.to_string(),
            name: flow.name,
            methods: flow.config.methods,
            sign_up: flow.config.sign_up,
            attributes: flow.config.attributes,
            mfa: flow.config.mfa,
            mfa_methods: flow.config.mfa_methods,
            offer_passkey: flow.config.offer_passkey,
            apps: flow.apps.iter().map(ToString::to_string).collect(),
            is_default: flow.is_default,
        }
    }
}

/// Create a user flow (apps listed move to it).
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/user-flows", request_body = UserFlowBody,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = UserFlowOut), (status = 400), (status = 401), (status = 404), (status = 409),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_user_flow(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<UserFlowBody>,
) -> Result<Response, Problem> {
    let apps = body
        .apps
        .iter()
        .map(|a| {
            a.parse().map_err(|_| {
                Problem::new(StatusCode::BAD_REQUEST, format!("{a:?} is not a client id"))
            })
        })
        .collect::<Result<_, _>>()?;
    let flow = state
        .portico
        .create_user_flow(
            &TenantRef::parse(&tenant),
            NewUserFlow {
                name: body.name,
                config: UserFlowConfig {
                    methods: body.methods,
                    sign_up: body.sign_up,
                    attributes: body.attributes,
                    mfa: body.mfa,
                    mfa_methods: body.mfa_methods,
                    offer_passkey: body.offer_passkey,
                },
                apps,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserFlowOut::from(flow))).into_response())
}

/// List a tenant's user flows, default first.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/user-flows",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = [UserFlowOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_user_flows(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<Vec<UserFlowOut>>, Problem> {
    let flows = state.portico.user_flows(&TenantRef::parse(&tenant)).await?;
    Ok(axum::Json(
        flows.into_iter().map(UserFlowOut::from).collect(),
    ))
}

/// A tenant's branding. PUT replaces it whole; omitted parts are cleared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingBody {
    /// `#rrggbb`.
    #[serde(default)]
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub primary_color: Option<String>,
    /// `#rrggbb`.
    #[serde(default)]
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub background_color: Option<String>,
    /// Extra CSS (no `<`), at most 32 KiB (rules that reach outside the page are refused: 422).
    #[serde(default)]
    #[schema(max_length = 32768, pattern = "^[^<]*$")]
    pub custom_css: Option<String>,
    /// Page texts by message key (e.g. `signin-title`).
    #[serde(default)]
    pub texts: std::collections::BTreeMap<String, String>,
    /// PNG, JPEG or WebP logo, base64, at most 256 KiB (anything else is refused: 422).
    #[serde(default)]
    #[schema(
        content_encoding = "base64",
        pattern = "^\\s*[A-Za-z0-9+/]*={0,2}\\s*$"
    )]
    pub logo_base64: Option<String>,
}

/// Set a tenant's branding of the hosted pages.
#[utoipa::path(put, path = "/admin/api/v1/tenants/{tenant}/branding", request_body = BrandingBody,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 204), (status = 400), (status = 401), (status = 404), (status = 413),
              (status = 415), (status = 422)))]
pub(crate) async fn set_branding(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<BrandingBody>,
) -> Result<StatusCode, Problem> {
    use base64::Engine as _;
    let logo = body
        .logo_base64
        .map(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "logo_base64 is not base64",
                    )
                })
        })
        .transpose()?;
    state
        .portico
        .set_branding(
            &TenantRef::parse(&tenant),
            Branding {
                primary_color: body.primary_color,
                background_color: body.background_color,
                custom_css: body.custom_css,
                texts: body.texts,
                logo_type: None,
                logo,
            },
            crate::pages::i18n::is_known_key,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
