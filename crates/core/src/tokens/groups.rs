//! The `groups` claim (Entra's "groups claim"), for apps that opt in: the user's groups by id
//! (nested ones too), or the names of those assigned to the app (groups holding one of its
//! app roles). Past [`MAX_GROUPS_IN_TOKEN`] groups the token carries Entra's overage claims
//! instead, pointing to where the app can read them with the user's access token.

use serde_json::{Map, Value, json};

use crate::directory::{Application, GroupsClaim, MAX_GROUPS_IN_TOKEN, Tenant, User};
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

    async fn groups_for(
        &self,
        tenant: &Tenant,
        app: &Application,
        user: &User,
        groups: &[UserGroup],
    ) -> Result<Map<String, Value>, CoreError> {
        let listed: Vec<Value> = match app.groups_claim {
            GroupsClaim::Off => return Ok(Map::new()),
            GroupsClaim::Ids => groups
                .iter()
                .map(|g| Value::from(g.group.clone()))
                .collect(),
            GroupsClaim::Names => {
                let assigned = self
                    .store
                    .group_role_assignments(tenant.id, app.client_id)
                    .await?;
                groups
                    .iter()
                    .filter(|g| assigned.iter().any(|a| a.group_id == g.group))
                    .map(|g| Value::from(g.display_name.clone()))
                    .collect()
            }
        };
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
