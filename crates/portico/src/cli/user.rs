//! `portico user …`: users.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::{NewUser, TenantRef};
use portico_core::ids::ClientId;
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
        /// The password is in a legacy store: a password-submit extension checks it at the
        /// first sign-in, and Portico keeps it from then on.
        #[arg(long, conflicts_with = "password")]
        legacy_password: bool,
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
    /// List the scopes a user consented to, per client app.
    Consents {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        #[arg(long)]
        user: String,
    },
    /// Take back what a user consented to (for one client app, or for all): the next token
    /// for those scopes is refused and the next sign-in asks again.
    RevokeConsent {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        #[arg(long)]
        user: String,
        /// Only the consents to this client app.
        #[arg(long)]
        app: Option<ClientId>,
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
            legacy_password,
        } => {
            let user = portico
                .create_user(
                    &TenantRef::parse(&tenant),
                    NewUser {
                        email,
                        password,
                        display_name,
                        legacy_password,
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
        UserCommand::Consents { tenant, user } => {
            let consents = portico
                .user_consents(&TenantRef::parse(&tenant), &user)
                .await?;
            let human = consents
                .iter()
                .map(|c| format!("{} {} {}", c.client_id, c.api_client_id, c.scope))
                .collect::<Vec<_>>()
                .join("\n");
            let json: Vec<_> = consents
                .into_iter()
                .map(|c| {
                    json!({
                        "client_id": c.client_id.to_string(),
                        "api": c.api_client_id.to_string(),
                        "scope": c.scope,
                        "created_at": c.created_at,
                    })
                })
                .collect();
            Output {
                human,
                json: json!({ "consents": json }),
            }
        }
        UserCommand::RevokeConsent { tenant, user, app } => {
            let tenant = TenantRef::parse(&tenant);
            let found = portico.find_user(&tenant, &user).await?;
            let revoked = portico.revoke_user_consents(&tenant, &user, app).await?;
            Output {
                human: format!(
                    "revoked {revoked} consented scope(s) of {} ({})",
                    found.email, found.id
                ),
                json: json!({"id": found.id.to_string(), "email": found.email, "consents_revoked": revoked}),
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
