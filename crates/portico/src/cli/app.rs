//! `portico app …`: applications.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::{AppKind, NewApplication, TenantRef};
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
    },
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
        } => {
            let kind: AppKind = kind.parse().map_err(anyhow::Error::msg)?;
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
                    },
                )
                .await?;
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
    })
}
