//! `portico group …`: groups of users and of other groups, as SCIM provisions them. Every
//! change is in the audit log, made by `cli`.

use anyhow::Result;
use clap::Subcommand;
use portico_core::Portico;
use portico_core::directory::TenantRef;
use portico_core::store::GroupRecord;
use serde_json::json;

use super::Output;

/// How the audit log names changes made here.
const ACTOR: &str = "cli";

/// Group commands.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Make a group.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The group's name.
        #[arg(long)]
        name: String,
    },
    /// Put a user or a group into a group: `--group GROUP (--user USER | --group MEMBER_GROUP)`.
    #[command(name = "add-member")]
    AddMember(MemberArgs),
    /// Take a user or a group out of a group: `--group GROUP (--user USER | --group MEMBER_GROUP)`.
    #[command(name = "remove-member")]
    RemoveMember(MemberArgs),
    /// List a tenant's groups and their members.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
}

/// Which group, and which member: `--group` names the group, and a second `--group` (or
/// `--member-group`) the group to nest; or `--user` the user.
#[derive(Debug, clap::Args)]
pub struct MemberArgs {
    /// Tenant name or id.
    #[arg(long)]
    tenant: String,
    /// The group's id; given twice, the second is the member group.
    #[arg(long = "group", required = true, num_args = 1, action = clap::ArgAction::Append)]
    groups: Vec<String>,
    /// The user (object id or sign-in email).
    #[arg(long)]
    user: Option<String>,
    /// The group to nest (its id), as a second `--group` also says.
    #[arg(long = "member-group")]
    member_group: Option<String>,
}

impl MemberArgs {
    /// The group, and the member's id (a user's by id or email).
    async fn resolve(self, portico: &Portico) -> Result<(TenantRef, String, String)> {
        let tenant = TenantRef::parse(&self.tenant);
        let mut groups = self.groups.into_iter();
        let group = groups.next().unwrap_or_default();
        let nested = groups.next().or(self.member_group);
        let member = match (self.user, nested, groups.next()) {
            (_, _, Some(_)) => {
                anyhow::bail!("--group at most twice: the group, then a member group")
            }
            (Some(user), None, None) => portico.find_user(&tenant, &user).await?.id.to_string(),
            (None, Some(nested), None) => nested,
            _ => anyhow::bail!("name one member: --user USER, or a second --group GROUP_ID"),
        };
        Ok((tenant, group, member))
    }
}

fn group_json(group: &GroupRecord) -> serde_json::Value {
    json!({
        "id": group.id,
        "display_name": group.display_name,
        "external_id": group.external_id,
        "members": group.members.iter().map(|m| json!({"id": m.id, "type": m.kind.as_str(), "display": m.display})).collect::<Vec<_>>(),
    })
}

/// Runs one `GroupCommand`.
pub(super) async fn run(portico: &Portico, command: GroupCommand) -> Result<Output> {
    Ok(match command {
        GroupCommand::Create { tenant, name } => {
            let group = portico
                .create_group(&TenantRef::parse(&tenant), &name, ACTOR)
                .await?;
            Output {
                human: format!("group {} ({})", group.display_name, group.id),
                json: json!({"id": group.id, "display_name": group.display_name}),
            }
        }
        GroupCommand::AddMember(args) => {
            let (tenant, group, member) = args.resolve(portico).await?;
            portico
                .change_group_member(&tenant, &group, &member, true, ACTOR)
                .await?;
            Output {
                human: format!("{member} is a member of {group}"),
                json: json!({"group": group, "member": member, "added": true}),
            }
        }
        GroupCommand::RemoveMember(args) => {
            let (tenant, group, member) = args.resolve(portico).await?;
            portico
                .change_group_member(&tenant, &group, &member, false, ACTOR)
                .await?;
            Output {
                human: format!("{member} is no longer a member of {group}"),
                json: json!({"group": group, "member": member, "removed": true}),
            }
        }
        GroupCommand::List { tenant } => {
            let groups = portico.list_groups(&TenantRef::parse(&tenant)).await?;
            Output {
                human: groups
                    .iter()
                    .map(|g| format!("{}  {}  {} members", g.id, g.display_name, g.members.len()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: json!({"groups": groups.iter().map(group_json).collect::<Vec<_>>()}),
            }
        }
    })
}
