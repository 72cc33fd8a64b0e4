//! The directory: tenants, applications, users, and the operations operators perform on them.

mod api;
mod application;
mod apps;
mod attributes;
mod branding;
mod client_keys;
mod permissions;
mod registration;
mod service;
mod tenant;
mod tenant_settings;
mod user;
mod user_flow;

pub use api::{
    ApiScope, AppRole, ExchangeRule, ExposedApi, MAX_API_ITEMS, RoleMembers, ScopeConsent,
};
pub(crate) use application::is_reserved_claim;
pub use application::{
    AppKind, Application, ClaimMapping, GroupsClaim, ImplicitGrant, LogoutUris,
    MAX_GROUPS_IN_TOKEN, NewApplication,
};
pub use apps::{
    ACCESS_TOKEN_LIFETIME_SECS, AppChanges, CreatedApplication, DEFAULT_SECRET_DAYS,
    MAX_SECRET_DAYS, NewClientSecret, REFRESH_TOKEN_LIFETIME_SECS,
};
pub use attributes::{
    AttributeError, AttributeReason, MAX_ATTRIBUTE_LEN, check_attributes, missing_required,
};
pub use branding::{Branding, MAX_CSS_BYTES, MAX_LOGO_BYTES, sniff_image};
pub use client_keys::{
    ClientKey, MAX_CLIENT_KEYS, allowed_algorithms, certificate_key, names_key, parse_client_keys,
};
pub use permissions::{ExposeApi, PermissionRequest};
pub use registration::{
    ClientMetadata, DEFAULT_INITIAL_TOKEN_DAYS, RegisteredClient, RegistrationError,
    is_internal_address,
};
pub use service::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, NewAdminToken, flow_serving};
pub use tenant::{Tenant, TenantRef};
pub use tenant_settings::{MAX_REFRESH_TOKEN_DAYS, TenantSettings, sms_allowed};
pub use user::{Email, NewUser, User};
pub use user_flow::{
    AttributeSpec, AttributeType, BUILT_IN_ATTRIBUTES, InputKind, MfaMethod, MfaPolicy,
    NewUserFlow, SignInMethod, UserFlow, UserFlowConfig,
};
