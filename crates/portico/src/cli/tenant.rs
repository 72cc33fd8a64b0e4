//! `portico tenant …`: tenants, their settings and branding.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_keys::SigningAlgorithm;
use serde_json::json;

use super::Output;

/// Tenant commands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// URL-friendly name.
        name: String,
        /// Token signing algorithm.
        #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "EdDSA"])]
        signing_alg: String,
    },
    /// List tenants.
    List,
    /// Set how the hosted pages look for this tenant (options not given stay as they are).
    Branding {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Logo image (PNG, JPEG or WebP, at most 256 KiB).
        #[arg(long)]
        logo: Option<PathBuf>,
        /// Buttons and focus colour, #rrggbb.
        #[arg(long)]
        primary_color: Option<String>,
        /// Page background colour, #rrggbb.
        #[arg(long)]
        background_color: Option<String>,
        /// A CSS file appended to the pages' styles.
        #[arg(long)]
        css: Option<PathBuf>,
        /// Replace a page text: KEY=TEXT, e.g. signin-title="Welcome to Contoso" (repeatable).
        #[arg(long = "text")]
        texts: Vec<String>,
    },
    /// Set the tenant's settings (options not given stay as they are).
    Settings {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Country calling codes texts may go to, comma-separated (`+1,+44`), or `any`.
        #[arg(long)]
        sms_countries: Option<String>,
        /// Absolute refresh-token lifetime in days (1 to 365), or `default` (90).
        #[arg(long)]
        refresh_token_max_days: Option<String>,
        /// Access-token lifetime in seconds (300 to 86400) for apps that set none, or
        /// `default` (the server's).
        #[arg(long)]
        access_token_lifetime: Option<String>,
        /// Dynamic client registration (RFC 7591) for holders of an initial access token.
        #[arg(long, value_parser = ["on", "off"])]
        dynamic_registration: Option<String>,
        /// The API (client id) whose access tokens with the role SCIM.ReadWrite (or
        /// SCIM.Read) may call SCIM, or `none` for SCIM tokens only.
        #[arg(long)]
        scim_api: Option<String>,
        /// The `azp` of tokens on calls to custom authentication extensions (an app id), or
        /// `entra` for Entra's authentication-events app (the default).
        #[arg(long)]
        callout_azp: Option<String>,
    },
    /// Set the tenant's passkey policy (options not given stay as they are).
    Passkeys {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Start from the defaults (the public URL's host and origin, user verification
        /// required, no attestation, every algorithm, counters that go back refused).
        #[arg(long)]
        reset: bool,
        /// The relying-party id (a host name covering every origin), or `default`.
        #[arg(long)]
        rp_id: Option<String>,
        /// An origin whose pages may use the passkeys (repeatable; replaces the list).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Whether the authenticator must verify the person.
        #[arg(long, value_parser = ["required", "preferred"])]
        user_verification: Option<String>,
        /// Attestation asked at registration.
        #[arg(long, value_parser = ["none", "direct"])]
        attestation: Option<String>,
        /// Only this authenticator model may register (repeatable; replaces the list).
        #[arg(long = "aaguid-allow")]
        aaguid_allow: Vec<uuid::Uuid>,
        /// This authenticator model may not register (repeatable; replaces the list).
        #[arg(long = "aaguid-deny")]
        aaguid_deny: Vec<uuid::Uuid>,
        /// Signature algorithms, comma-separated: ES256, EdDSA, RS256.
        #[arg(long, value_delimiter = ',')]
        algorithms: Vec<String>,
        /// What a signature counter that goes backwards does.
        #[arg(long, value_parser = ["refuse", "log"])]
        counter_regression: Option<String>,
    },
}

/// Runs one `TenantCommand`.
pub(super) async fn run(portico: &Portico, command: TenantCommand) -> Result<Output> {
    Ok(match command {
        TenantCommand::Create { name, signing_alg } => {
            let alg: SigningAlgorithm = signing_alg.parse()?;
            let tenant = portico.create_tenant(&name, alg).await?;
            Output {
                human: format!(
                    "created tenant {} ({}), signing with {}",
                    tenant.name, tenant.id, alg
                ),
                json: json!({"id": tenant.id.to_string(), "name": tenant.name}),
            }
        }
        TenantCommand::List => {
            let tenants = portico.list_tenants().await?;
            let human = tenants
                .iter()
                .map(|t| format!("{}  {}  {}", t.id, t.name, t.signing_alg))
                .collect::<Vec<_>>()
                .join("\n");
            let list: Vec<_> = tenants
                .iter()
                .map(|t| json!({"id": t.id.to_string(), "name": t.name, "signing_alg": t.signing_alg.as_str()}))
                .collect();
            Output {
                human,
                json: json!({"tenants": list}),
            }
        }
        TenantCommand::Settings {
            tenant,
            sms_countries,
            refresh_token_max_days,
            access_token_lifetime,
            dynamic_registration,
            scim_api,
            callout_azp,
        } => {
            let tenant_ref = TenantRef::parse(&tenant);
            let found = portico.tenant(&tenant_ref).await?;
            let mut settings = (*portico.tenant_settings(found.id).await?).clone();
            if let Some(countries) = sms_countries {
                settings.sms_countries = match countries.trim() {
                    "any" => Vec::new(),
                    list => list.split(',').map(|c| c.trim().to_owned()).collect(),
                };
            }
            if let Some(days) = refresh_token_max_days {
                settings.refresh_token_max_days = match days.trim() {
                    "default" => None,
                    days => Some(days.parse().with_context(|| {
                        format!("--refresh-token-max-days {days:?} is not a number of days")
                    })?),
                };
            }
            if let Some(secs) = access_token_lifetime {
                settings.access_token_lifetime_secs = match secs.trim() {
                    "default" => None,
                    secs => Some(secs.parse().with_context(|| {
                        format!("--access-token-lifetime {secs:?} is not a number of seconds")
                    })?),
                };
            }
            if let Some(switch) = dynamic_registration {
                settings.dynamic_registration = switch == "on";
            }
            if let Some(api) = scim_api {
                settings.scim_api = match api.trim() {
                    "none" => None,
                    api => Some(api.parse().map_err(|_| {
                        anyhow::anyhow!("--scim-api {api:?} is neither a client id nor none")
                    })?),
                };
            }
            if let Some(azp) = callout_azp {
                settings.callout_azp = (azp.trim() != "entra").then_some(azp);
            }
            let saved = portico.set_tenant_settings(&tenant_ref, settings).await?;
            let mut json = serde_json::to_value(&saved)?;
            if let Some(object) = json.as_object_mut() {
                object.insert("tenant".to_owned(), json!(found.id.to_string()));
            }
            Output {
                human: format!("updated settings of {}", found.name),
                json,
            }
        }
        TenantCommand::Passkeys {
            tenant,
            reset,
            rp_id,
            origins,
            user_verification,
            attestation,
            aaguid_allow,
            aaguid_deny,
            algorithms,
            counter_regression,
        } => {
            use portico_core::passkeys::{
                Attestation, CounterRegression, PasskeyPolicy, UserVerification,
            };
            let tenant_ref = TenantRef::parse(&tenant);
            let found = portico.tenant(&tenant_ref).await?;
            let mut settings = (*portico.tenant_settings(found.id).await?).clone();
            let policy = &mut settings.passkeys;
            if reset {
                *policy = PasskeyPolicy::default();
            }
            if let Some(id) = rp_id {
                policy.rp_id = (id.trim() != "default").then_some(id);
            }
            if !origins.is_empty() {
                policy.origins = origins;
            }
            if let Some(uv) = user_verification {
                policy.user_verification = if uv == "preferred" {
                    UserVerification::Preferred
                } else {
                    UserVerification::Required
                };
            }
            if let Some(attestation) = attestation {
                policy.attestation = if attestation == "direct" {
                    Attestation::Direct
                } else {
                    Attestation::None
                };
            }
            if !aaguid_allow.is_empty() {
                policy.aaguid_allow = aaguid_allow;
            }
            if !aaguid_deny.is_empty() {
                policy.aaguid_deny = aaguid_deny;
            }
            if !algorithms.is_empty() {
                policy.algorithms = algorithms
                    .iter()
                    .map(|a| a.trim().parse().map_err(anyhow::Error::msg))
                    .collect::<Result<_>>()?;
            }
            if let Some(rule) = counter_regression {
                policy.counter_regression = if rule == "log" {
                    CounterRegression::Log
                } else {
                    CounterRegression::Refuse
                };
            }
            let saved = portico.set_tenant_settings(&tenant_ref, settings).await?;
            let (rp_id, origins) = saved.passkeys.relying_party(&portico.settings.public_url)?;
            let mut json = serde_json::to_value(&saved.passkeys)?;
            if let Some(object) = json.as_object_mut() {
                object.insert("tenant".to_owned(), json!(found.id.to_string()));
                // What applies, defaults filled in.
                object.insert("effective_rp_id".to_owned(), json!(rp_id));
                let origins: Vec<String> = origins
                    .iter()
                    .map(|o| o.origin().ascii_serialization())
                    .collect();
                object.insert("effective_origins".to_owned(), json!(origins));
            }
            Output {
                human: format!("updated the passkey policy of {}", found.name),
                json,
            }
        }
        TenantCommand::Branding {
            tenant,
            logo,
            primary_color,
            background_color,
            css,
            texts,
        } => {
            let tenant_ref = TenantRef::parse(&tenant);
            let found = portico.tenant(&tenant_ref).await?;
            let mut branding = (*portico.branding(found.id).await?).clone();
            if let Some(path) = logo {
                branding.logo = Some(
                    std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                );
            }
            if let Some(color) = primary_color {
                branding.primary_color = Some(color);
            }
            if let Some(color) = background_color {
                branding.background_color = Some(color);
            }
            if let Some(path) = css {
                branding.custom_css = Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                );
            }
            for text in texts {
                let (key, value) = text
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--text {text:?} must be KEY=TEXT"))?;
                branding
                    .texts
                    .insert(key.trim().to_owned(), value.to_owned());
            }
            let saved = portico
                .set_branding(&tenant_ref, branding, portico_http::is_page_text_key)
                .await?;
            let mut json = serde_json::to_value(&saved)?;
            if let Some(map) = json.as_object_mut() {
                map.insert("tenant".into(), found.id.to_string().into());
                map.insert("logo".into(), saved.logo.is_some().into());
            }
            Output {
                human: format!("updated branding of {}", found.name),
                json,
            }
        }
    })
}
