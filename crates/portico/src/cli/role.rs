//! `portico role …`: app roles of an API held by users.

use anyhow::Result;
use clap::{Args, Subcommand};
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_core::ids::ClientId;
use serde_json::json;

use super::Output;

/// Role commands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Assign an app role of an API to a user.
    Assign(RoleArgs),
    /// Take an app role from a user: their next tokens go without it.
    Unassign(RoleArgs),
    /// List who holds an API's app roles.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Client id of the API.
        #[arg(long)]
        app: ClientId,
    },
}

/// Which role of which API, for which user.
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// Tenant name or id.
    #[arg(long)]
    tenant: String,
    /// Client id of the API whose role it is.
    #[arg(long)]
    app: ClientId,
    /// The role's name (one users may hold).
    #[arg(long)]
    role: String,
    /// The user's object id or sign-in email.
    #[arg(long, required_unless_present = "group", conflicts_with = "group")]
    user: Option<String>,
    /// A group's id: its members, and members of groups nested in it, hold the role.
    #[arg(long)]
    group: Option<String>,
}

/// Runs one `RoleCommand`.
pub(super) async fn run(portico: &Portico, command: RoleCommand) -> Result<Output> {
    let (
        assign,
        RoleArgs {
            tenant,
            app,
            role,
            user,
            group,
        },
    ) = match command {
        RoleCommand::Assign(args) => (true, args),
        RoleCommand::Unassign(args) => (false, args),
        RoleCommand::List { tenant, app } => return list(portico, &tenant, app).await,
    };
    let tenant = TenantRef::parse(&tenant);
    let verb = if assign { "assigned" } else { "unassigned" };
    let (Some(user), None) = (user, &group) else {
        let group = group.unwrap_or_default();
        if assign {
            portico
                .assign_group_role(&tenant, app, &role, &group)
                .await?;
        } else {
            portico
                .unassign_group_role(&tenant, app, &role, &group)
                .await?;
        }
        return Ok(Output {
            human: format!("{verb} role {role} of {app} to group {group}"),
            json: json!({"api": app.to_string(), "role": role, "group_id": group, "assigned": assign}),
        });
    };
    let user = if assign {
        portico.assign_role(&tenant, app, &role, &user).await?
    } else {
        portico.unassign_role(&tenant, app, &role, &user).await?
    };
    Ok(Output {
        human: format!(
            "{verb} role {role} of {app} to {} ({})",
            user.email, user.id
        ),
        json: json!({
            "api": app.to_string(),
            "role": role,
            "user_id": user.id.to_string(),
            "assigned": assign,
        }),
    })
}

async fn list(portico: &Portico, tenant: &str, app: ClientId) -> Result<Output> {
    let assignments = portico
        .role_assignments(&TenantRef::parse(tenant), app)
        .await?;
    let groups = portico
        .group_role_assignments(&TenantRef::parse(tenant), app)
        .await?;
    let human = assignments
        .iter()
        .map(|a| format!("{} {}", a.role, a.user_id))
        .chain(
            groups
                .iter()
                .map(|a| format!("{} group {}", a.role, a.group_id)),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let json: Vec<_> = assignments
        .iter()
        .map(|a| json!({"api": app.to_string(), "role": a.role, "user_id": a.user_id.to_string()}))
        .chain(
            groups
                .iter()
                .map(|a| json!({"api": app.to_string(), "role": a.role, "group_id": a.group_id})),
        )
        .collect();
    Ok(Output {
        human,
        json: json!({ "assignments": json }),
    })
}
