//! `portico keys …`: signing keys.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use serde_json::json;

use super::Output;

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate a tenant's signing keys.
    Rotate {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
}

/// Runs one `KeysCommand`.
pub(super) async fn run(portico: &Portico, command: KeysCommand) -> Result<Output> {
    Ok(match command {
        KeysCommand::Rotate { tenant } => {
            let tenant_ref = TenantRef::parse(&tenant);
            portico.rotate_keys(&tenant_ref).await?;
            let tenant = portico.tenant(&tenant_ref).await?;
            Output {
                human: format!("rotated signing keys of {}", tenant.name),
                json: json!({"tenant": tenant.id.to_string(), "rotated": true}),
            }
        }
    })
}
