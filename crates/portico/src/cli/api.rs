//! `portico app expose` and `portico app grant`: an application's API, and the permissions
//! client apps hold on it.

use anyhow::Result;
use clap::Args;
use portico_core::Portico;
use portico_core::directory::{
    ApiScope, AppRole, ExchangeRule, ExposeApi, PermissionRequest, ScopeConsent, TenantRef,
};
use portico_core::ids::ClientId;
use portico_core::store::{PermissionGrant, PermissionKind};
use serde_json::json;

use super::Output;
use super::app::{app_human, app_json};

/// `portico app expose`.
#[derive(Debug, Args)]
pub struct ExposeArgs {
    /// Tenant name or id.
    #[arg(long)]
    tenant: String,
    /// Client id of the app that becomes an API.
    #[arg(long)]
    app: ClientId,
    /// Application ID URI (`api://…` or `https://…`): clients ask for `{URI}/{scope}`.
    #[arg(long)]
    identifier_uri: String,
    /// A delegated scope, `NAME[:users|admins][=consent text]` (repeatable): who may consent
    /// to it, each user for themselves (the default) or only an administrator (`app grant`).
    #[arg(long = "scope", value_parser = api_scope)]
    scopes: Vec<ApiScope>,
    /// An app role, `NAME:users|apps|both` (repeatable).
    #[arg(long = "app-role", value_parser = app_role)]
    roles: Vec<AppRole>,
    /// A client that may exchange users' tokens for this API (RFC 8693),
    /// `CLIENT_ID:SUBJECT_AUDIENCE[:delegation|impersonation]` (repeatable): users' access
    /// tokens for SUBJECT_AUDIENCE; delegation (the default) makes it present its own token
    /// as the actor.
    #[arg(long = "token-exchange")]
    token_exchange: Vec<ExchangeRule>,
}

/// `portico app grant`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["scopes", "roles"])))]
pub struct GrantArgs {
    /// Tenant name or id.
    #[arg(long)]
    tenant: String,
    /// Client id of the app that receives the permissions.
    #[arg(long)]
    app: ClientId,
    /// Client id of the API.
    #[arg(long)]
    api: ClientId,
    /// A delegated scope of the API (repeatable).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// An app role of the API, held by the app itself (repeatable).
    #[arg(long = "role")]
    roles: Vec<String>,
}

fn api_scope(text: &str) -> Result<ApiScope, String> {
    let (head, consent_text) = match text.split_once('=') {
        Some((head, consent_text)) => (head, Some(consent_text)),
        None => (text, None),
    };
    let (name, consent) = match head.split_once(':') {
        Some((name, who)) => (name, who.parse::<ScopeConsent>()?),
        None => (head, ScopeConsent::Users),
    };
    let mut scope = ApiScope::new(name, consent_text);
    scope.consent = consent;
    Ok(scope)
}

fn app_role(text: &str) -> Result<AppRole, String> {
    let (name, members) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not NAME:users|apps|both"))?;
    Ok(AppRole {
        name: name.to_owned(),
        allowed: members.parse()?,
        description: String::new(),
    })
}

/// A permission as `--json` prints it (the admin API's `PermissionOut`).
fn permission_json(grant: &PermissionGrant) -> serde_json::Value {
    json!({
        "api": grant.api_client_id.to_string(),
        "kind": grant.kind.as_str(),
        "name": grant.name,
        "created_at": grant.created_at,
    })
}

pub(super) async fn expose(portico: &Portico, args: ExposeArgs) -> Result<Output> {
    let scopes = args.scopes;
    let app = portico
        .expose_api(
            &TenantRef::parse(&args.tenant),
            args.app,
            ExposeApi {
                identifier_uri: args.identifier_uri,
                scopes,
                roles: args.roles,
                token_exchange: args.token_exchange,
            },
        )
        .await?;
    Ok(Output {
        human: format!("exposed an API\n{}", app_human(&app)),
        json: app_json(&app),
    })
}

pub(super) async fn grant(portico: &Portico, args: GrantArgs) -> Result<Output> {
    let tenant = TenantRef::parse(&args.tenant);
    let grants = portico
        .grant_permissions(
            &tenant,
            args.app,
            args.api,
            PermissionRequest {
                scopes: args.scopes,
                roles: args.roles,
            },
        )
        .await?;
    held(portico, &tenant, args.app, &grants).await
}

/// `portico app revoke`: takes granted scopes or roles back (the next token goes without).
pub(super) async fn revoke(portico: &Portico, args: GrantArgs) -> Result<Output> {
    let tenant = TenantRef::parse(&args.tenant);
    let kinds = args
        .scopes
        .iter()
        .map(|s| (PermissionKind::Scope, s))
        .chain(args.roles.iter().map(|r| (PermissionKind::Role, r)));
    for (kind, name) in kinds {
        portico
            .revoke_permission(&tenant, args.app, args.api, kind, name)
            .await?;
    }
    let grants = portico.permission_grants(&tenant, args.app).await?;
    held(portico, &tenant, args.app, &grants).await
}

/// The client app with what it holds, as `grant` and `revoke` print it.
async fn held(
    portico: &Portico,
    tenant: &TenantRef,
    client: ClientId,
    grants: &[PermissionGrant],
) -> Result<Output> {
    let app = portico.show_application(tenant, client).await?;
    let mut json = app_json(&app);
    if let Some(fields) = json.as_object_mut() {
        fields.insert(
            "permissions".into(),
            grants.iter().map(permission_json).collect(),
        );
    }
    let held: Vec<String> = grants
        .iter()
        .map(|g| format!("{} {} {}", g.api_client_id, g.kind.as_str(), g.name))
        .collect();
    Ok(Output {
        human: format!("{} now holds:\n  {}", app.client_id, held.join("\n  ")),
        json,
    })
}
