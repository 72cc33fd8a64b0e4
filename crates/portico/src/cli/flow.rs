//! `portico flow …`: user flows.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::{
    AttributeSpec, MfaPolicy, NewUserFlow, TenantRef, UserFlow, UserFlowConfig,
};
use serde_json::json;

use super::Output;

/// User flow commands.
#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Create a user flow and attach apps to it.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Flow name (unique in the tenant).
        #[arg(long)]
        name: String,
        /// First-factor methods, comma-separated: password, email-otp, passkey.
        #[arg(long, value_delimiter = ',', default_value = "password,email-otp")]
        methods: Vec<String>,
        /// An attribute collected at sign-up: NAME[:string|int|bool][:required] (repeatable).
        #[arg(long = "attribute")]
        attributes: Vec<String>,
        /// Allow self-service sign-up.
        #[arg(long, default_value = "on", value_parser = ["on", "off"])]
        sign_up: String,
        /// Second factor policy.
        #[arg(long, default_value = "off", value_parser = ["off", "required"])]
        mfa: String,
        /// Second-factor methods, comma-separated: email-otp, sms, totp, passkey.
        #[arg(long, value_delimiter = ',', default_value = "email-otp")]
        mfa_methods: Vec<String>,
        /// After a sign-in or sign-up on the hosted pages, offer to make a passkey.
        #[arg(long, default_value = "off", value_parser = ["on", "off"])]
        offer_passkey: String,
        /// Client id of an app this flow serves (repeatable).
        #[arg(long = "app")]
        apps: Vec<String>,
    },
    /// List a tenant's user flows.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
}

/// Runs one `FlowCommand`.
pub(super) async fn run(portico: &Portico, command: FlowCommand) -> Result<Output> {
    Ok(match command {
        FlowCommand::Create {
            tenant,
            name,
            methods,
            attributes,
            sign_up,
            mfa,
            mfa_methods,
            offer_passkey,
            apps,
        } => {
            let config = UserFlowConfig {
                methods: methods
                    .iter()
                    .map(|m| {
                        from_word(m).map_err(|_| {
                            anyhow::anyhow!("unknown method {m:?} (password, email-otp, passkey)")
                        })
                    })
                    .collect::<Result<_>>()?,
                sign_up: sign_up == "on",
                attributes: attributes
                    .iter()
                    .map(|a| AttributeSpec::parse_cli(a).map_err(anyhow::Error::msg))
                    .collect::<Result<_>>()?,
                mfa: if mfa == "required" {
                    MfaPolicy::Required
                } else {
                    MfaPolicy::Off
                },
                mfa_methods: mfa_methods
                    .iter()
                    .map(|m| {
                        from_word(m).map_err(|_| {
                            anyhow::anyhow!(
                                "unknown MFA method {m:?} (email-otp, sms, totp, passkey)"
                            )
                        })
                    })
                    .collect::<Result<_>>()?,
                offer_passkey: offer_passkey == "on",
            };
            let new = NewUserFlow {
                name,
                config,
                apps: apps
                    .iter()
                    .map(|a| {
                        a.parse()
                            .map_err(|_| anyhow::anyhow!("--app {a:?} is not a client id"))
                    })
                    .collect::<Result<_>>()?,
            };
            let flow = portico
                .create_user_flow(&TenantRef::parse(&tenant), new)
                .await?;
            Output {
                human: format!(
                    "created user flow {} ({}) serving {} app(s)",
                    flow.name,
                    flow.id,
                    flow.apps.len()
                ),
                json: flow_json(&flow),
            }
        }
        FlowCommand::List { tenant } => {
            let flows = portico.user_flows(&TenantRef::parse(&tenant)).await?;
            let human = flows
                .iter()
                .map(|f| {
                    format!(
                        "{}  {}{}  apps: {}",
                        f.id,
                        f.name,
                        if f.is_default { " (default)" } else { "" },
                        f.apps.len()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output {
                human,
                json: json!({"flows": flows.iter().map(flow_json).collect::<Vec<_>>()}),
            }
        }
    })
}

/// The JSON form of a flow (the same shape the admin API returns).
fn flow_json(flow: &UserFlow) -> serde_json::Value {
    let mut value = serde_json::to_value(&flow.config).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("id".into(), flow.id.to_string().into());
        map.insert("name".into(), flow.name.clone().into());
        map.insert("is_default".into(), flow.is_default.into());
        map.insert(
            "apps".into(),
            flow.apps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    value
}

/// A kebab-case word (`email-otp`) as one of the flow enums.
fn from_word<T: serde::de::DeserializeOwned>(word: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::Value::String(word.trim().to_owned()))
}
