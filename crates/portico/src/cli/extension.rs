//! `portico extension …`: custom authentication extensions (a company's service called at a
//! step of sign-in or token issuance, with Entra's payloads).

use anyhow::{Context as _, Result};
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_core::extensions::{Extension, ExtensionCall, ExtensionEvent, NewExtension};
use portico_core::ids::ClientId;
use serde_json::json;

use super::Output;

/// Extension commands.
#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    /// Register an extension and attach it to an event (and apps).
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// A name, unique in the tenant.
        #[arg(long)]
        name: String,
        /// token-issuance-start, attribute-collection-start, attribute-collection-submit,
        /// otp-send or password-submit.
        #[arg(long)]
        event: ExtensionEvent,
        /// Where it is called: https://, or http:// to a loopback address.
        #[arg(long)]
        target_url: String,
        /// The audience of the calls' tokens: the app id the receiver trusts (for example
        /// its Entra app registration). Without it, Portico registers a resource app.
        #[arg(long)]
        resource_app_id: Option<String>,
        /// An app it serves (repeatable); none: every app of the tenant.
        #[arg(long = "app")]
        apps: Vec<ClientId>,
        /// How long one attempt may take, 200 to 2000 ms.
        #[arg(long, default_value_t = portico_core::extensions::DEFAULT_TIMEOUT_MS)]
        timeout_ms: u32,
        /// Attempts after the first on connection errors, timeouts and 5xx: 0 or 1.
        #[arg(long, default_value_t = 1)]
        retries: u8,
        /// A claim it may provide (token-issuance-start; repeatable).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// otp-send: when the call fails, Portico's own mailer sends the code.
        #[arg(long, value_parser = ["on", "off"], default_value = "off")]
        fallback: String,
        /// password-submit (required there): a PEM file with the public key or certificate
        /// whose RSA key passwords are encrypted to.
        #[arg(long)]
        encryption_key: Option<std::path::PathBuf>,
    },
    /// List a tenant's extensions.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
    /// Show one extension.
    Show {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The extension's id.
        #[arg(long)]
        id: String,
    },
    /// Delete an extension: its step goes on without it.
    Delete {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The extension's id.
        #[arg(long)]
        id: String,
    },
    /// Call an extension with a sample payload and print how its answer is read.
    Test {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The extension's id.
        #[arg(long)]
        id: String,
    },
    /// The latest calls (outcome, error number, latency), newest first.
    Calls {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Only calls since (RFC 3339 or unix seconds).
        #[arg(long)]
        since: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// An extension as `show` and the admin API print it.
fn extension_json(extension: &Extension) -> serde_json::Value {
    serde_json::to_value(portico_http::ExtensionOut::from(extension.clone())).unwrap_or_default()
}

fn call_json(call: &ExtensionCall) -> serde_json::Value {
    serde_json::to_value(portico_http::ExtensionCallOut::from(call.clone())).unwrap_or_default()
}

fn describe(extension: &Extension) -> String {
    let apps = if extension.all_apps {
        "every app".to_owned()
    } else {
        extension
            .apps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}  {}  {}  {} -> {}  (aud {}, {} ms, {} retr{})",
        extension.id,
        extension.name,
        extension.event.as_str(),
        apps,
        extension.target_url,
        extension.resource_app_id,
        extension.timeout_ms,
        extension.retries,
        if extension.retries == 1 { "y" } else { "ies" },
    )
}

/// Runs one `ExtensionCommand`.
pub(super) async fn run(portico: &Portico, command: ExtensionCommand) -> Result<Output> {
    Ok(match command {
        ExtensionCommand::Create {
            tenant,
            name,
            event,
            target_url,
            resource_app_id,
            apps,
            timeout_ms,
            retries,
            claims,
            fallback,
            encryption_key,
        } => {
            let encryption_key = encryption_key
                .map(|path| {
                    std::fs::read_to_string(&path).with_context(|| {
                        format!("cannot read the encryption key {}", path.display())
                    })
                })
                .transpose()?;
            let extension = portico
                .create_extension(
                    &TenantRef::parse(&tenant),
                    NewExtension {
                        name,
                        event,
                        target_url,
                        resource_app_id,
                        apps,
                        timeout_ms: Some(timeout_ms),
                        retries: Some(retries),
                        claims,
                        fallback: fallback == "on",
                        encryption_key,
                    },
                )
                .await?;
            Output {
                human: format!(
                    "extension {} registered; its calls' tokens are for resource app {}",
                    extension.id, extension.resource_app_id
                ),
                json: json!({"id": extension.id, "resource_app_id": extension.resource_app_id}),
            }
        }
        ExtensionCommand::List { tenant } => {
            let extensions = portico.list_extensions(&TenantRef::parse(&tenant)).await?;
            Output {
                human: extensions
                    .iter()
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"extensions": extensions.iter().map(extension_json).collect::<Vec<_>>()}),
            }
        }
        ExtensionCommand::Show { tenant, id } => {
            let extension = portico
                .show_extension(&TenantRef::parse(&tenant), &id)
                .await?;
            Output {
                human: describe(&extension),
                json: extension_json(&extension),
            }
        }
        ExtensionCommand::Delete { tenant, id } => {
            portico
                .delete_extension(&TenantRef::parse(&tenant), &id)
                .await?;
            Output {
                human: format!("deleted extension {id}"),
                json: json!({"id": id, "deleted": true}),
            }
        }
        ExtensionCommand::Test { tenant, id } => {
            let trial = portico
                .test_extension(&TenantRef::parse(&tenant), &id)
                .await?;
            let (human, answer) = match &trial.answer {
                Ok(answer) => {
                    let json = answer.to_json();
                    (
                        format!("answer: {json}"),
                        json!({"ok": true, "answer": json}),
                    )
                }
                Err(err) => (
                    format!("refused: {}", err.error),
                    json!({
                        "ok": false,
                        "outcome": err.outcome,
                        "error_code": err.error.code,
                        "error": err.error.name,
                        "detail": err.error.detail,
                    }),
                ),
            };
            Output {
                human: format!(
                    "sent: {}\n{human}",
                    serde_json::to_string_pretty(&trial.payload)?
                ),
                json: json!({"request": trial.payload, "result": answer}),
            }
        }
        ExtensionCommand::Calls {
            tenant,
            since,
            limit,
        } => {
            let since = match since {
                Some(text) => super::audit::parse_since(&text)?,
                None => 0,
            };
            let calls = portico
                .extension_calls(&TenantRef::parse(&tenant), since, limit)
                .await?;
            Output {
                human: calls
                    .iter()
                    .map(|c| {
                        format!(
                            "{}  {}  {}  {}{}  {} ms  {} attempt(s)",
                            c.at,
                            c.event.as_str(),
                            c.extension_id,
                            c.outcome,
                            c.error_code
                                .map(|code| format!(" {code}"))
                                .unwrap_or_default(),
                            c.latency_ms,
                            c.attempts
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"calls": calls.iter().map(call_json).collect::<Vec<_>>()}),
            }
        }
    })
}
