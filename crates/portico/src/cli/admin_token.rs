//! `portico admin-token …`: admin API tokens.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use serde_json::json;

use super::Output;

/// Admin token commands.
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Issue an admin API token (printed once; only a digest is stored).
    Create {
        /// What the token is for, shown in listings.
        #[arg(long)]
        name: Option<String>,
        /// Days until the token stops working by itself (default: never).
        #[arg(long = "expires-in", value_name = "DAYS")]
        expires_in: Option<i64>,
    },
    /// List admin tokens (never their secrets), revoked and expired ones too.
    List,
    /// Revoke an admin token: it stops working at once, on every node.
    Revoke {
        /// The token's id (from `admin-token list`).
        id: String,
    },
}

/// Runs one `AdminTokenCommand`.
pub(super) async fn run(portico: &Portico, command: AdminTokenCommand) -> Result<Output> {
    Ok(match command {
        AdminTokenCommand::Create { name, expires_in } => {
            let (token, record) = portico
                .issue_admin_token(portico_core::directory::NewAdminToken {
                    name,
                    expires_in_days: expires_in,
                    // The operator at the command line holds the database itself.
                    issuer_expires_at: None,
                })
                .await?;
            let mut json = admin_token_json(&record, portico.now());
            if let Some(object) = json.as_object_mut() {
                object.insert("token".to_owned(), json!(token));
            }
            Output {
                human: token.clone(),
                json,
            }
        }
        AdminTokenCommand::List => {
            let now = portico.now();
            let tokens = portico.admin_tokens().await?;
            let listed: Vec<serde_json::Value> =
                tokens.iter().map(|t| admin_token_json(t, now)).collect();
            let human = listed
                .iter()
                .map(|t| {
                    format!(
                        "{}  {}  {}",
                        t["id"].as_str().unwrap_or_default(),
                        t["status"].as_str().unwrap_or_default(),
                        t["name"].as_str().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output {
                human,
                json: json!(listed),
            }
        }
        AdminTokenCommand::Revoke { id } => {
            portico.revoke_admin_token(&id).await?;
            Output {
                human: format!("revoked admin token {id}"),
                json: json!({"id": id, "revoked": true}),
            }
        }
    })
}

/// An admin token as the CLI prints it (the admin API's listing shape).
fn admin_token_json(token: &portico_core::store::AdminTokenRecord, now: i64) -> serde_json::Value {
    json!({
        "id": token.id,
        "name": token.name,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "status": token.status(now),
    })
}
