//! `portico user …`: users.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::{NewUser, TenantRef};
use serde_json::json;

use super::Output;

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Initial password.
        #[arg(long)]
        password: Option<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Block a user from signing in; ends their sessions and revokes their tokens' grants.
    Disable {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        user: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        user: String,
    },
    /// End every SSO session and refresh token of a user (a lost device, a suspected
    /// compromise); the account stays enabled.
    RevokeSessions {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        #[arg(long)]
        user: String,
    },
}

/// Runs one `UserCommand`.
pub(super) async fn run(portico: &Portico, command: UserCommand) -> Result<Output> {
    Ok(match command {
        UserCommand::Create {
            tenant,
            email,
            password,
            display_name,
        } => {
            let user = portico
                .create_user(
                    &TenantRef::parse(&tenant),
                    NewUser {
                        email,
                        password,
                        display_name,
                    },
                )
                .await?;
            Output {
                human: format!("created user {} ({})", user.email, user.id),
                json: json!({"id": user.id.to_string(), "email": user.email}),
            }
        }
        UserCommand::Disable { tenant, user } => user_enabled_output(
            portico
                .set_user_enabled(&TenantRef::parse(&tenant), &user, false)
                .await?,
        ),
        UserCommand::Enable { tenant, user } => user_enabled_output(
            portico
                .set_user_enabled(&TenantRef::parse(&tenant), &user, true)
                .await?,
        ),
        UserCommand::RevokeSessions { tenant, user } => {
            let user = portico
                .revoke_sessions(&TenantRef::parse(&tenant), &user)
                .await?;
            Output {
                human: format!("signed {} ({}) out everywhere", user.email, user.id),
                json: json!({"id": user.id.to_string(), "email": user.email, "sessions_revoked": true}),
            }
        }
    })
}

fn user_enabled_output(user: portico_core::directory::User) -> Output {
    let state = if user.enabled { "enabled" } else { "disabled" };
    Output {
        human: format!("{state} user {} ({})", user.email, user.id),
        json: json!({"id": user.id.to_string(), "email": user.email, "enabled": user.enabled}),
    }
}
