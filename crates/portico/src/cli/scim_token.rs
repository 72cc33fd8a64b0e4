//! `portico scim-token …`: the bearer tokens SCIM provisioning clients present.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_core::store::ScimTokenRecord;
use serde_json::json;

use super::Output;

/// SCIM token commands.
#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Make a SCIM token for a tenant (shown once).
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Days it works (1 to 3650); without it, until revoked.
        #[arg(long)]
        expires_in: Option<u32>,
    },
    /// List a tenant's SCIM tokens (never the tokens).
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a SCIM token: it stops working at once.
    Revoke {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The token's id (from `list`).
        #[arg(long)]
        id: String,
    },
}

fn token_json(record: &ScimTokenRecord, now: i64) -> serde_json::Value {
    json!({
        "id": record.id,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "status": record.status(now),
    })
}

/// Runs one `ScimTokenCommand`.
pub(super) async fn run(portico: &Portico, command: ScimTokenCommand) -> Result<Output> {
    Ok(match command {
        ScimTokenCommand::Create { tenant, expires_in } => {
            let (token, record) = portico
                .create_scim_token(&TenantRef::parse(&tenant), expires_in)
                .await?;
            Output {
                human: format!("SCIM token {} (shown only now): {token}", record.id),
                json: json!({"id": record.id, "token": token}),
            }
        }
        ScimTokenCommand::List { tenant } => {
            let now = portico.now();
            let tokens = portico.scim_tokens(&TenantRef::parse(&tenant)).await?;
            Output {
                human: tokens
                    .iter()
                    .map(|t| format!("{}  {}", t.id, t.status(now)))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"tokens": tokens.iter().map(|t| token_json(t, now)).collect::<Vec<_>>()}),
            }
        }
        ScimTokenCommand::Revoke { tenant, id } => {
            portico
                .revoke_scim_token(&TenantRef::parse(&tenant), &id)
                .await?;
            Output {
                human: format!("revoked SCIM token {id}"),
                json: json!({"id": id, "revoked": true}),
            }
        }
    })
}
