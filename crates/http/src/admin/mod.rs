//! The admin REST API under `/admin/api/v1/` (bearer admin token), described by OpenAPI 3.1.

mod api;
mod api_body;
mod apps;
mod auth;
mod body;
mod consents;
mod extensions;
mod groups;
mod handlers;
mod registration;
mod secrets;
mod settings;
mod tokens;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

pub use apps::ApplicationOut;
pub(crate) use auth::AdminAuth;
pub use extensions::{ExtensionCallOut, ExtensionOut};

#[derive(OpenApi)]
#[openapi(
    info(title = "Portico admin API", version = "1", description = "Manage tenants, applications, users and keys."),
    paths(
        handlers::list_tenants,
        handlers::create_tenant,
        apps::create_application,
        apps::list_applications,
        apps::get_application,
        apps::update_application,
        apps::delete_application,
        api::expose_api,
        api::list_permissions,
        api::grant_permissions,
        api::revoke_permission,
        api::assign_role,
        api::list_role_assignments,
        api::unassign_role,
        secrets::add_client_secret,
        secrets::list_client_secrets,
        secrets::remove_client_secret,
        handlers::create_user,
        handlers::get_user,
        handlers::update_user,
        handlers::revoke_user_sessions,
        consents::list_user_consents,
        consents::revoke_user_consents,
        consents::revoke_user_app_consents,
        handlers::rotate_keys,
        handlers::create_user_flow,
        handlers::list_user_flows,
        handlers::set_branding,
        settings::get_settings,
        settings::put_settings,
        tokens::create_admin_token,
        tokens::list_admin_tokens,
        tokens::revoke_admin_token,
        groups::list_groups,
        groups::create_group,
        groups::add_member,
        groups::remove_member,
        groups::list_group_roles,
        groups::assign_group_role,
        groups::unassign_group_role,
        groups::audit_log,
        extensions::create_extension,
        extensions::list_extensions,
        extensions::show_extension,
        extensions::delete_extension,
        extensions::test_extension,
        extensions::extension_calls,
        registration::create_registration_token,
        registration::list_registration_tokens,
        registration::revoke_registration_token,
    ),
    components(schemas(
        handlers::CreateTenant,
        handlers::TenantOut,
        apps::CreateApplication,
        apps::ApplicationCreated,
        apps::ApplicationOut,
        apps::UpdateApplication,
        api_body::ApiBody,
        api_body::ApiScopeBody,
        api_body::AppRoleBody,
        api_body::RoleMembersName,
        api_body::ScopeConsentName,
        api_body::ExchangeRuleBody,
        apps::ImplicitName,
        api::ExposeApiBody,
        api::GrantPermissions,
        api::PermissionOut,
        api::AssignRole,
        api::RoleAssignmentOut,
        secrets::CreateClientSecret,
        secrets::ClientSecretOut,
        secrets::ClientSecretCreated,
        handlers::CreateUser,
        handlers::UserOut,
        handlers::UpdateUser,
        consents::ConsentOut,
        settings::TenantSettingsBody,
        tokens::CreateAdminToken,
        tokens::AdminTokenOut,
        tokens::AdminTokenCreated,
        apps::GroupsClaimBody,
        groups::CreateGroup,
        groups::MemberOut,
        groups::GroupOut,
        groups::AddMember,
        groups::GroupRoleAssignmentBody,
        groups::AuditEntryOut,
        extensions::CreateExtension,
        extensions::ExtensionEventName,
        extensions::ClaimName,
        extensions::ExtensionOut,
        extensions::ExtensionTestOut,
        extensions::ExtensionCallOut,
        apps::ClaimMappingBody,
        registration::CreateRegistrationToken,
        registration::RegistrationTokenOut,
        registration::RegistrationTokenCreated,
        handlers::UserFlowBody,
        handlers::UserFlowOut,
        handlers::SigningAlgName,
        handlers::AppKindName,
        handlers::SignInMethodName,
        handlers::MfaMethodName,
        handlers::MfaPolicyName,
        handlers::AttributeSpecSchema,
        handlers::AttributeTypeName,
        handlers::InputKindName,
        handlers::BrandingBody,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct AdminApi;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the admin API.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    AdminApi::openapi()
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi_document())
}

/// The routes that take more than the small body every other endpoint takes: branding,
/// whose logo may be up to 256 KiB (about 342 KiB as base64 in JSON), and an API
/// definition (up to 100 scopes and 100 roles with their texts).
pub(crate) fn large_body_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/api/v1/tenants/{tenant}/branding",
            axum::routing::put(handlers::set_branding),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/api",
            axum::routing::put(api::expose_api),
        )
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/openapi.json", get(openapi_json))
        .route(
            "/admin/api/v1/tenants",
            get(handlers::list_tenants).post(handlers::create_tenant),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications",
            get(apps::list_applications).post(apps::create_application),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}",
            get(apps::get_application)
                .patch(apps::update_application)
                .delete(apps::delete_application),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions",
            get(api::list_permissions).post(api::grant_permissions),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions/{api}/{kind}/{name}",
            axum::routing::delete(api::revoke_permission),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments",
            get(api::list_role_assignments).post(api::assign_role),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments/{role}/{user}",
            axum::routing::delete(api::unassign_role),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets",
            get(secrets::list_client_secrets).post(secrets::add_client_secret),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets/{id}",
            axum::routing::delete(secrets::remove_client_secret),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/users",
            post(handlers::create_user),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/users/{user}",
            get(handlers::get_user).patch(handlers::update_user),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/users/{user}/revoke-sessions",
            post(handlers::revoke_user_sessions),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/users/{user}/consents",
            get(consents::list_user_consents).delete(consents::revoke_user_consents),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/users/{user}/consents/{client_id}",
            axum::routing::delete(consents::revoke_user_app_consents),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/user-flows",
            get(handlers::list_user_flows).post(handlers::create_user_flow),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/keys/rotate",
            post(handlers::rotate_keys),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/settings",
            get(settings::get_settings).put(settings::put_settings),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/registration-tokens",
            get(registration::list_registration_tokens)
                .post(registration::create_registration_token),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/groups/{group}/members",
            axum::routing::post(groups::add_member),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/groups/{group}/members/{member}",
            axum::routing::delete(groups::remove_member),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments",
            get(groups::list_group_roles).post(groups::assign_group_role),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments/{role}/{group}",
            axum::routing::delete(groups::unassign_group_role),
        )
        .route("/admin/api/v1/tenants/{tenant}/audit", get(groups::audit_log))
        .route(
            "/admin/api/v1/tenants/{tenant}/extensions",
            get(extensions::list_extensions).post(extensions::create_extension),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/extensions/{extension}",
            get(extensions::show_extension).delete(extensions::delete_extension),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/extensions/{extension}/test",
            post(extensions::test_extension),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/extension-calls",
            get(extensions::extension_calls),
        )
        .route(
            "/admin/api/v1/tenants/{tenant}/registration-tokens/{id}",
            axum::routing::delete(registration::revoke_registration_token),
        )
        .route(
            "/admin/api/v1/admin-tokens",
            get(tokens::list_admin_tokens).post(tokens::create_admin_token),
        )
        .route(
            "/admin/api/v1/admin-tokens/{id}",
            axum::routing::delete(tokens::revoke_admin_token),
        )
}
