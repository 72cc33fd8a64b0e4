//! `portico registration-token …`: initial access tokens for dynamic client registration
//! (RFC 7591), which `tenant settings --dynamic-registration on` turns on.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_core::store::InitialAccessTokenRecord;
use serde_json::json;

use super::Output;

/// Initial access token commands.
#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Make an initial access token (shown once).
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Days it works (1 to 90; default 7).
        #[arg(long)]
        days: Option<u32>,
        /// Registrations it allows (default 1).
        #[arg(long)]
        uses: Option<u32>,
    },
    /// List a tenant's initial access tokens.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke an initial access token (apps registered with it stay).
    Revoke {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The token's id (from `list`).
        #[arg(long)]
        id: String,
    },
}

/// A token as `--json` shows it (never the token itself, which only `create` prints).
fn token_json(record: &InitialAccessTokenRecord) -> serde_json::Value {
    json!({
        "id": record.id,
        "max_uses": record.max_uses,
        "uses": record.uses,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
    })
}

/// Runs one `RegistrationTokenCommand`.
pub(super) async fn run(portico: &Portico, command: RegistrationTokenCommand) -> Result<Output> {
    Ok(match command {
        RegistrationTokenCommand::Create { tenant, days, uses } => {
            let (token, record) = portico
                .create_initial_access_token(&TenantRef::parse(&tenant), days, uses)
                .await?;
            let mut json = token_json(&record);
            if let Some(object) = json.as_object_mut() {
                object.insert("initial_access_token".into(), token.clone().into());
            }
            Output {
                human: format!(
                    "initial access token {} for {} registration(s) (shown only now): {token}",
                    record.id, record.max_uses
                ),
                json,
            }
        }
        RegistrationTokenCommand::List { tenant } => {
            let tokens = portico
                .initial_access_tokens(&TenantRef::parse(&tenant))
                .await?;
            Output {
                human: tokens
                    .iter()
                    .map(|t| {
                        format!(
                            "{}  {}/{} used  expires {}",
                            t.id, t.uses, t.max_uses, t.expires_at
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"tokens": tokens.iter().map(token_json).collect::<Vec<_>>()}),
            }
        }
        RegistrationTokenCommand::Revoke { tenant, id } => {
            portico
                .revoke_initial_access_token(&TenantRef::parse(&tenant), &id)
                .await?;
            Output {
                human: format!("revoked initial access token {id}"),
                json: json!({"id": id, "revoked": true}),
            }
        }
    })
}
