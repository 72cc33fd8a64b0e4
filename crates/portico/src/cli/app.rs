//! `portico app …`: applications.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::{
    AppChanges, AppKind, Application, GroupsClaim, LogoutUris, NewApplication, TenantRef,
};
use portico_core::ids::ClientId;
use serde_json::json;

use super::Output;

/// Application commands.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Client kind.
        #[arg(long, value_parser = ["web", "spa", "native", "daemon"])]
        kind: String,
        /// Redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Application ID URI (for client-credentials scopes).
        #[arg(long)]
        identifier_uri: Option<String>,
        /// A user attribute to put into this app's tokens, e.g. givenName or a custom
        /// attribute (repeatable; Entra's optional claims).
        #[arg(long = "optional-claim")]
        optional_claims: Vec<String>,
        /// Enable the native authentication API (spa and native apps only).
        #[arg(long)]
        native_auth: bool,
        /// A browser origin allowed to call the native authentication API, e.g.
        /// https://app.example (repeatable).
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// A file with the public JWK (or JWK Set) the app signs `private_key_jwt`
        /// assertions with (web and daemon apps).
        #[arg(long)]
        jwk: Option<std::path::PathBuf>,
        /// A PEM X.509 certificate whose key the app signs `private_key_jwt` assertions with
        /// (MSAL's certificate credentials; repeatable; with `--jwk`, both count).
        #[arg(long = "certificate")]
        certificates: Vec<std::path::PathBuf>,
        /// Where the app hears, server to server, that a session it served ended (OpenID
        /// Connect Back-Channel Logout; https, or http for localhost).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// The app's page the sign-out page frames so its browser session ends too (OpenID
        /// Connect Front-Channel Logout; web and spa apps, on a redirect URI's origin).
        #[arg(long)]
        frontchannel_logout_uri: Option<String>,
        /// A `groups` claim in the app's tokens: every group of the user by id, or the names
        /// of the groups assigned to the app (holding one of its roles).
        #[arg(long, value_parser = ["off", "ids", "names"])]
        groups_claim: Option<String>,
    },
    /// List the tenant's applications.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
    /// Show an application.
    Show {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
    },
    /// Change an application; a list given replaces the old one, what is left out stays.
    Update {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Redirect URI (repeatable; replaces the registered ones).
        #[arg(long = "redirect-uri", conflicts_with = "no_redirect_uris")]
        redirect_uris: Vec<String>,
        /// Remove every redirect URI.
        #[arg(long)]
        no_redirect_uris: bool,
        /// Optional claim (repeatable; replaces the current ones).
        #[arg(long = "optional-claim", conflicts_with = "no_optional_claims")]
        optional_claims: Vec<String>,
        /// Remove every optional claim.
        #[arg(long)]
        no_optional_claims: bool,
        /// The native authentication API; off also removes the CORS origins.
        #[arg(long, value_parser = ["on", "off"])]
        native_auth: Option<String>,
        /// CORS origin for the native authentication API (repeatable; replaces the current
        /// ones).
        #[arg(long = "cors-origin", conflicts_with = "no_cors_origins")]
        cors_origins: Vec<String>,
        /// Remove every CORS origin.
        #[arg(long)]
        no_cors_origins: bool,
        /// Entra's "assignment required": only users and client apps holding one of this
        /// app's roles get tokens for it.
        #[arg(long, value_parser = ["on", "off"])]
        assignment_required: Option<String>,
        /// The device code flow (RFC 8628) for a native or web app; off unless turned on.
        #[arg(long, value_parser = ["on", "off"])]
        device_code: Option<String>,
        /// Authorization requests must be pushed first (RFC 9126 PAR).
        #[arg(long, value_parser = ["on", "off"])]
        require_par: Option<String>,
        /// Every token request must carry a DPoP proof (RFC 9449): no bearer tokens.
        #[arg(long, value_parser = ["on", "off"])]
        require_dpop: Option<String>,
        /// A `groups` claim in the app's tokens: every group of the user by id, or the names
        /// of the groups assigned to the app (holding one of its roles).
        #[arg(long, value_parser = ["off", "ids", "names"])]
        groups_claim: Option<String>,
        /// Access-token lifetime in seconds (300 to 86400), or `default` for the server's.
        #[arg(long, value_parser = lifetime)]
        access_token_lifetime: Option<Lifetime>,
        /// Refresh-token idle lifetime in seconds (600 to 7776000), or `default`.
        #[arg(long, value_parser = lifetime)]
        refresh_token_lifetime: Option<Lifetime>,
        /// A file with the public JWK (or JWK Set) for `private_key_jwt`; replaces the keys.
        #[arg(long, conflicts_with = "no_jwks")]
        jwk: Option<std::path::PathBuf>,
        /// A PEM X.509 certificate for `private_key_jwt` (repeatable); replaces the keys
        /// (with `--jwk`, both count).
        #[arg(long = "certificate", conflicts_with = "no_jwks")]
        certificates: Vec<std::path::PathBuf>,
        /// Remove every `private_key_jwt` key.
        #[arg(long)]
        no_jwks: bool,
        /// Tokens from the authorization endpoint (implicit and hybrid flows; web and spa
        /// apps): off, id-token, or id-token-and-token.
        #[arg(long, value_parser = ["off", "id-token", "id-token-and-token"])]
        implicit: Option<String>,
        /// Back-channel logout URI (https, or http for localhost).
        #[arg(long, conflicts_with = "no_backchannel_logout_uri")]
        backchannel_logout_uri: Option<String>,
        /// Remove the back-channel logout URI.
        #[arg(long)]
        no_backchannel_logout_uri: bool,
        /// Front-channel logout URI (web and spa apps, on a redirect URI's origin).
        #[arg(long, conflicts_with = "no_frontchannel_logout_uri")]
        frontchannel_logout_uri: Option<String>,
        /// Remove the front-channel logout URI.
        #[arg(long)]
        no_frontchannel_logout_uri: bool,
    },
    /// Expose an API: its identifier URI, delegated scopes and app roles (replacing what it
    /// exposed before).
    Expose(super::api::ExposeArgs),
    /// Grant a client app scopes or roles of an API, for every user of the tenant (admin
    /// consent).
    Grant(super::api::GrantArgs),
    /// Take back scopes or roles granted to a client app (its next tokens go without).
    Revoke(super::api::GrantArgs),
    /// Name a claim a custom authentication extension provides in this app's tokens.
    #[command(name = "claim-map")]
    ClaimMap(super::claim_map::ClaimMapArgs),
    /// Manage an application's client secrets (rotation: add, move the app, remove the old).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Delete an application: its grants end (its codes and refresh tokens stop working).
    Delete {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
    },
}

/// `portico app secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a client secret (shown once).
    Add {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
        /// Days the secret works (default 365, at most 730).
        #[arg(long)]
        expires_in: Option<u32>,
    },
    /// List the app's secrets (ids, hints and expiry; never a secret).
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
    },
    /// Remove a client secret: it stops working at once.
    Remove {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: ClientId,
        /// The secret's id (from `app secret list`).
        #[arg(long)]
        secret: String,
    },
}

/// A stored secret as `--json` prints it.
fn secret_json(secret: &portico_core::store::ClientSecretRecord) -> serde_json::Value {
    json!({
        "id": secret.id,
        "hint": secret.hint,
        "created_at": secret.created_at,
        "expires_at": secret.expires_at,
    })
}

/// Runs one `SecretCommand`.
async fn run_secret(portico: &Portico, command: SecretCommand) -> Result<Output> {
    Ok(match command {
        SecretCommand::Add {
            tenant,
            app,
            expires_in,
        } => {
            let made = portico
                .add_client_secret(&TenantRef::parse(&tenant), app, expires_in)
                .await?;
            let mut json = secret_json(&made.record);
            if let Some(fields) = json.as_object_mut() {
                fields.insert("secret".into(), made.secret.clone().into());
            }
            Output {
                human: format!(
                    "added secret {} to {app}\nclient secret (shown only now): {}",
                    made.record.id, made.secret
                ),
                json,
            }
        }
        SecretCommand::List { tenant, app } => {
            let secrets = portico
                .list_client_secrets(&TenantRef::parse(&tenant), app)
                .await?;
            Output {
                human: secrets
                    .iter()
                    .map(|s| {
                        let until = s.expires_at.map_or("never".to_owned(), |at| at.to_string());
                        format!("{} {}… expires {until}", s.id, s.hint)
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"secrets": secrets.iter().map(secret_json).collect::<Vec<_>>()}),
            }
        }
        SecretCommand::Remove {
            tenant,
            app,
            secret,
        } => {
            portico
                .remove_client_secret(&TenantRef::parse(&tenant), app, &secret)
                .await?;
            Output {
                human: format!("removed secret {secret} from {app}"),
                json: json!({"id": secret, "removed": true}),
            }
        }
    })
}

/// A list option of `app update`: the values given, none (`--no-…`), or left as it is.
fn replaced(values: Vec<String>, clear: bool) -> Option<Vec<String>> {
    (clear || !values.is_empty()).then_some(values)
}

/// A single-value option of `app update`: the value given, none (`--no-…`), or left as it is.
fn set_or_removed(value: Option<String>, remove: bool) -> Option<Option<String>> {
    match value {
        Some(value) => Some(Some(value)),
        None => remove.then_some(None),
    }
}

/// The keys in a `--jwk` file and `--certificate` files, if any is given.
fn read_keys(
    jwk: Option<&std::path::Path>,
    certificates: &[std::path::PathBuf],
) -> Result<Option<Vec<portico_core::directory::ClientKey>>> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
    };
    if jwk.is_none() && certificates.is_empty() {
        return Ok(None);
    }
    let mut keys = match jwk {
        Some(path) => portico_core::directory::parse_client_keys(&read(path)?)?,
        None => Vec::new(),
    };
    for path in certificates {
        keys.push(portico_core::directory::certificate_key(&read(path)?)?);
    }
    Ok(Some(keys))
}

/// A lifetime option: seconds, or `None` for the server's (`default`).
#[derive(Debug, Clone, Copy)]
pub struct Lifetime(Option<i64>);

fn lifetime(text: &str) -> Result<Lifetime, String> {
    if text == "default" {
        return Ok(Lifetime(None));
    }
    text.parse()
        .map(|secs| Lifetime(Some(secs)))
        .map_err(|_| format!("{text:?} is neither a number of seconds nor `default`"))
}

/// An application as `--json` prints it: exactly the admin API's `ApplicationOut`.
pub(super) fn app_json(app: &Application) -> serde_json::Value {
    serde_json::to_value(portico_http::ApplicationOut::from(app.clone())).unwrap_or_default()
}

/// An application for people: its id, kind and name, then what is set.
pub(super) fn app_human(app: &Application) -> String {
    let mut lines = vec![format!("{} {} {}", app.client_id, app.kind, app.name)];
    for (label, list) in [
        ("redirect URIs", &app.redirect_uris),
        ("optional claims", &app.optional_claims),
        ("CORS origins", &app.cors_origins),
    ] {
        if !list.is_empty() {
            lines.push(format!("  {label}: {}", list.join(" ")));
        }
    }
    if let Some(uri) = &app.identifier_uri {
        lines.push(format!("  identifier URI: {uri}"));
    }
    if app.native_auth {
        lines.push("  native authentication API: on".into());
    }
    let scopes: Vec<&str> = app.api.scopes.iter().map(|s| s.name.as_str()).collect();
    if !scopes.is_empty() {
        lines.push(format!("  scopes: {}", scopes.join(" ")));
    }
    let roles: Vec<String> = app
        .api
        .roles
        .iter()
        .map(|r| format!("{}:{}", r.name, r.allowed))
        .collect();
    if !roles.is_empty() {
        lines.push(format!("  app roles: {}", roles.join(" ")));
    }
    if app.assignment_required {
        lines.push("  assignment required: on".into());
    }
    if app.device_code {
        lines.push("  device code flow: on".into());
    }
    if app.require_par {
        lines.push("  pushed authorization requests required: on".into());
    }
    if app.require_dpop {
        lines.push("  DPoP proofs required: on".into());
    }
    for mapping in &app.claim_mappings {
        lines.push(format!("  claim {} as {}", mapping.source, mapping.claim));
    }
    if app.groups_claim != GroupsClaim::Off {
        lines.push(format!("  groups claim: {}", app.groups_claim.as_str()));
    }
    for (label, uri) in [
        ("back-channel logout URI", &app.logout.backchannel),
        ("front-channel logout URI", &app.logout.frontchannel),
    ] {
        if let Some(uri) = uri {
            lines.push(format!("  {label}: {uri}"));
        }
    }
    if app.implicit != portico_core::directory::ImplicitGrant::Off {
        lines.push(format!("  implicit: {}", app.implicit.as_str()));
    }
    for (label, secs) in [
        ("access-token lifetime", app.access_token_lifetime_secs),
        ("refresh-token lifetime", app.refresh_token_lifetime_secs),
    ] {
        if let Some(secs) = secs {
            lines.push(format!("  {label}: {secs} s"));
        }
    }
    lines.join("\n")
}

/// Runs one `AppCommand`.
pub(super) async fn run(portico: &Portico, command: AppCommand) -> Result<Output> {
    Ok(match command {
        AppCommand::Create {
            tenant,
            name,
            kind,
            redirect_uris,
            identifier_uri,
            optional_claims,
            native_auth,
            cors_origins,
            jwk,
            certificates,
            backchannel_logout_uri,
            frontchannel_logout_uri,
            groups_claim,
        } => {
            let kind: AppKind = kind.parse().map_err(anyhow::Error::msg)?;
            let groups_claim: Option<GroupsClaim> = groups_claim
                .map(|v| v.parse())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let client_keys = read_keys(jwk.as_deref(), &certificates)?.unwrap_or_default();
            let created = portico
                .create_application(
                    &TenantRef::parse(&tenant),
                    NewApplication {
                        name,
                        kind,
                        redirect_uris,
                        identifier_uri,
                        optional_claims,
                        native_auth,
                        cors_origins,
                        client_keys,
                        logout: LogoutUris {
                            backchannel: backchannel_logout_uri,
                            frontchannel: frontchannel_logout_uri,
                        },
                    },
                )
                .await?;
            let tenant = TenantRef::parse(&tenant);
            if let Some(groups_claim) = groups_claim.filter(|g| *g != GroupsClaim::Off) {
                let changes = AppChanges {
                    groups_claim: Some(groups_claim),
                    ..AppChanges::default()
                };
                portico
                    .update_application(&tenant, created.application.client_id, changes)
                    .await?;
            }
            let client_id = created.application.client_id.to_string();
            let mut human = format!("created {kind} application {client_id}");
            let json = match created.client_secret {
                Some(secret) => {
                    human.push_str(&format!("\nclient secret (shown only now): {secret}"));
                    json!({"client_id": client_id, "client_secret": secret})
                }
                None => json!({"client_id": client_id}),
            };
            Output { json, human }
        }
        AppCommand::List { tenant } => {
            let apps = portico
                .list_applications(&TenantRef::parse(&tenant))
                .await?;
            Output {
                human: if apps.is_empty() {
                    "no applications".into()
                } else {
                    apps.iter().map(app_human).collect::<Vec<_>>().join("\n")
                },
                json: json!({"applications": apps.iter().map(app_json).collect::<Vec<_>>()}),
            }
        }
        AppCommand::Show { tenant, app } => {
            let app = portico
                .show_application(&TenantRef::parse(&tenant), app)
                .await?;
            Output {
                human: app_human(&app),
                json: app_json(&app),
            }
        }
        AppCommand::Update {
            tenant,
            app,
            name,
            redirect_uris,
            no_redirect_uris,
            optional_claims,
            no_optional_claims,
            native_auth,
            cors_origins,
            no_cors_origins,
            assignment_required,
            device_code,
            require_par,
            require_dpop,
            groups_claim,
            access_token_lifetime,
            refresh_token_lifetime,
            jwk,
            certificates,
            no_jwks,
            implicit,
            backchannel_logout_uri,
            no_backchannel_logout_uri,
            frontchannel_logout_uri,
            no_frontchannel_logout_uri,
        } => {
            let implicit = implicit
                .map(|v| v.parse::<portico_core::directory::ImplicitGrant>())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let client_keys = match read_keys(jwk.as_deref(), &certificates)? {
                Some(keys) => Some(keys),
                None => no_jwks.then(Vec::new),
            };
            let changes = AppChanges {
                name,
                redirect_uris: replaced(redirect_uris, no_redirect_uris),
                optional_claims: replaced(optional_claims, no_optional_claims),
                native_auth: native_auth.map(|v| v == "on"),
                cors_origins: replaced(cors_origins, no_cors_origins),
                assignment_required: assignment_required.map(|v| v == "on"),
                device_code: device_code.map(|v| v == "on"),
                require_par: require_par.map(|v| v == "on"),
                require_dpop: require_dpop.map(|v| v == "on"),
                groups_claim: groups_claim
                    .map(|v| v.parse())
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                access_token_lifetime_secs: access_token_lifetime.map(|l| l.0),
                refresh_token_lifetime_secs: refresh_token_lifetime.map(|l| l.0),
                client_keys,
                implicit,
                backchannel_logout_uri: set_or_removed(
                    backchannel_logout_uri,
                    no_backchannel_logout_uri,
                ),
                frontchannel_logout_uri: set_or_removed(
                    frontchannel_logout_uri,
                    no_frontchannel_logout_uri,
                ),
                ..AppChanges::default()
            };
            let app = portico
                .update_application(&TenantRef::parse(&tenant), app, changes)
                .await?;
            Output {
                human: format!("changed application\n{}", app_human(&app)),
                json: app_json(&app),
            }
        }
        AppCommand::Secret(command) => run_secret(portico, command).await?,
        AppCommand::Expose(args) => super::api::expose(portico, args).await?,
        AppCommand::ClaimMap(args) => super::claim_map::run(portico, args).await?,
        AppCommand::Grant(args) => super::api::grant(portico, args).await?,
        AppCommand::Revoke(args) => super::api::revoke(portico, args).await?,
        AppCommand::Delete { tenant, app } => {
            portico
                .delete_application(&TenantRef::parse(&tenant), app)
                .await?;
            Output {
                human: format!("deleted application {app}"),
                json: json!({"client_id": app.to_string(), "deleted": true}),
            }
        }
    })
}
