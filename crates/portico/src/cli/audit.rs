//! `portico audit list`: the tenant's record of directory changes (SCIM provisioning, groups).

use anyhow::{Context, Result};
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use serde_json::json;

use super::Output;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List changes, oldest first.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Only changes at or after this time: RFC 3339 (`2026-12-01T00:00:00Z`) or Unix seconds.
        #[arg(long)]
        since: Option<String>,
        /// At most this many (default 1000).
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

pub(super) fn parse_since(text: &str) -> Result<i64> {
    if let Ok(seconds) = text.trim().parse::<i64>() {
        return Ok(seconds);
    }
    portico_core::scim::parse_rfc3339(text.trim())
        .with_context(|| format!("--since {text:?} is neither RFC 3339 nor Unix seconds"))
}

/// Runs one `AuditCommand`.
pub(super) async fn run(portico: &Portico, command: AuditCommand) -> Result<Output> {
    let AuditCommand::List {
        tenant,
        since,
        limit,
    } = command;
    let since = since.as_deref().map(parse_since).transpose()?.unwrap_or(0);
    let entries = portico
        .audit_log(&TenantRef::parse(&tenant), since, limit)
        .await?;
    Ok(Output {
        human: entries
            .iter()
            .map(|e| format!("{}  {}  {}  {}", e.at, e.actor, e.action, e.target))
            .collect::<Vec<_>>()
            .join("\n"),
        json: json!({"entries": entries.iter().map(|e| json!({
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        })).collect::<Vec<_>>()}),
    })
}
