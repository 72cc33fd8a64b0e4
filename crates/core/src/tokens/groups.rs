//! The `groups` claim (Entra's "groups claim"), for apps that opt in: the user's groups by id
//! (nested ones too), or the names of those assigned to the app (groups holding one of its
//! app roles). Past [`MAX_GROUPS_IN_TOKEN`] groups the token carries Entra's overage claims
//! instead, pointing to where the app can read them with the user's access token.

use serde_json::{Map, Value, json};

use crate::directory::{Application, GroupsClaim, MAX_GROUPS_IN_TOKEN, Tenant, User};
use crate::ids::TenantId;
use crate::store::UserGroup;
use crate::{CoreError, Portico};

/// The group claims of one grant's tokens.
#[derive(Debug, Default)]
pub(crate) struct GroupClaims {
    /// For the ID token (the client app's choice).
    pub(crate) id_token: Map<String, Value>,
    /// For the access token (the audience's choice).
    pub(crate) access_token: Map<String, Value>,
}

impl Portico {
    /// The group claims for a user's tokens from `client` to `audience`; reads the user's
    /// groups only if one of the two asks for them.
    pub(crate) async fn group_claims(
        &self,
        tenant: &Tenant,
        client: &Application,
        audience: &Application,
        user: &User,
    ) -> Result<GroupClaims, CoreError> {
        if client.groups_claim == GroupsClaim::Off && audience.groups_claim == GroupsClaim::Off {
            return Ok(GroupClaims::default());
        }
        let groups = self.store.groups_of_users(tenant.id, &[user.id]).await?;
        Ok(GroupClaims {
            id_token: self.groups_for(tenant, client, user, &groups).await?,
            access_token: self.groups_for(tenant, audience, user, &groups).await?,
        })
    }

    /// Of a user's `groups`, those `app` may know of: none for an app without a `groups`
    /// claim (`None`), every one for `ids`, the groups assigned to it for `names`. The one
    /// rule for the claim and for the overage endpoint it points to.
    pub(crate) async fn groups_seen_by(
        &self,
        tenant: TenantId,
        app: &Application,
        groups: Vec<UserGroup>,
    ) -> Result<Option<Vec<UserGroup>>, CoreError> {
        Ok(match app.groups_claim {
            GroupsClaim::Off => None,
            GroupsClaim::Ids => Some(groups),
            GroupsClaim::Names => {
                let assigned = self
                    .store
                    .group_role_assignments(tenant, app.client_id)
                    .await?;
                Some(
                    groups
                        .into_iter()
                        .filter(|g| assigned.iter().any(|a| a.group_id == g.group))
                        .collect(),
                )
            }
        })
    }

    async fn groups_for(
        &self,
        tenant: &Tenant,
        app: &Application,
        user: &User,
        groups: &[UserGroup],
    ) -> Result<Map<String, Value>, CoreError> {
        let Some(seen) = self.groups_seen_by(tenant.id, app, groups.to_vec()).await? else {
            return Ok(Map::new());
        };
        let listed: Vec<Value> = seen
            .into_iter()
            .map(|g| match app.groups_claim {
                GroupsClaim::Names => Value::from(g.display_name),
                _ => Value::from(g.group),
            })
            .collect();
        let mut claims = Map::new();
        if listed.len() > MAX_GROUPS_IN_TOKEN {
            let endpoint = format!(
                "{}/{}/users/{}/getMemberObjects",
                self.settings.public_url, tenant.id, user.id
            );
            claims.insert("_claim_names".into(), json!({"groups": "src1"}));
            claims.insert(
                "_claim_sources".into(),
                json!({"src1": {"endpoint": endpoint}}),
            );
        } else if !listed.is_empty() {
            claims.insert("groups".into(), Value::Array(listed));
        }
        Ok(claims)
    }
}
