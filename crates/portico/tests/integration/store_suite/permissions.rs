//! Permission grants and role assignments: idempotent, within their tenant, gone with their
//! app or user.

use std::sync::Arc;

use portico_core::directory::Application;
use portico_core::ids::ClientId;
use portico_core::store::{PermissionGrant, PermissionKind, RoleAssignment, Store};

use super::setup;

/// Grants and role assignments repeat harmlessly, are read per tenant and app, come back
/// off, and go when the API is deleted.
pub(super) async fn permissions_and_roles_within_their_tenant(store: Arc<dyn Store>) {
    let (t, u, client) = setup(store.as_ref()).await;
    let (other, other_user, _) = setup(store.as_ref()).await;
    let api = Application {
        client_id: ClientId::new_random(),
        identifier_uri: None,
        ..client.clone()
    };
    store.create_application(&api, None).await.unwrap();
    let grant = |kind, name: &str| PermissionGrant {
        tenant_id: t.id,
        client_id: client.client_id,
        api_client_id: api.client_id,
        kind,
        name: name.into(),
        created_at: 2_000,
    };
    let both = [
        grant(PermissionKind::Scope, "Orders.Read"),
        grant(PermissionKind::Role, "Orders.Sync"),
    ];
    store.grant_permissions(&both).await.unwrap();
    store.grant_permissions(&both[..1]).await.unwrap();
    assert_eq!(
        store
            .permission_grants(t.id, client.client_id)
            .await
            .unwrap(),
        vec![both[1].clone(), both[0].clone()],
        "each once; roles before scopes"
    );
    assert!(
        store
            .permission_grants(other.id, client.client_id)
            .await
            .unwrap()
            .is_empty()
    );
    // A grant naming an app of another tenant cannot be written (the API is not there).
    let smuggled = PermissionGrant {
        tenant_id: other.id,
        ..both[0].clone()
    };
    assert!(store.grant_permissions(&[smuggled]).await.is_err());
    assert!(
        !store
            .revoke_permission_grant(
                other.id,
                client.client_id,
                api.client_id,
                PermissionKind::Scope,
                "Orders.Read"
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_permission_grant(
                t.id,
                client.client_id,
                api.client_id,
                PermissionKind::Scope,
                "Orders.Read"
            )
            .await
            .unwrap()
    );

    let assignment = RoleAssignment {
        tenant_id: t.id,
        api_client_id: api.client_id,
        role: "Orders.Admin".into(),
        user_id: u.id,
        created_at: 2_000,
    };
    store.assign_role(&assignment).await.unwrap();
    store.assign_role(&assignment).await.unwrap();
    assert_eq!(
        store.user_roles(t.id, api.client_id, u.id).await.unwrap(),
        vec!["Orders.Admin"]
    );
    assert!(
        store
            .user_roles(other.id, api.client_id, u.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Another tenant's user cannot hold this tenant's role.
    let foreign = RoleAssignment {
        user_id: other_user.id,
        ..assignment.clone()
    };
    assert!(store.assign_role(&foreign).await.is_err());
    assert!(
        !store
            .unassign_role(other.id, api.client_id, u.id, "Orders.Admin")
            .await
            .unwrap()
    );

    // Deleting the API takes its grants and assignments with it.
    assert!(store.delete_application(t.id, api.client_id).await.unwrap());
    assert!(
        store
            .permission_grants(t.id, client.client_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .user_roles(t.id, api.client_id, u.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A user's consents: written with a flow's save (repeats harmless), read per user and app,
/// invisible from another tenant, revoked per app or all at once, and gone with the app.
pub(super) async fn user_consents_within_their_tenant(store: Arc<dyn Store>) {
    use portico_core::ids::FlowId;
    use portico_core::store::{FlowRecord, FlowWrite, UserConsent};

    let (t, u, client) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let api = Application {
        client_id: ClientId::new_random(),
        identifier_uri: None,
        ..client.clone()
    };
    let second = Application {
        client_id: ClientId::new_random(),
        identifier_uri: None,
        ..client.clone()
    };
    store.create_application(&api, None).await.unwrap();
    store.create_application(&second, None).await.unwrap();
    let consent = |client_id: ClientId, scope: &str| UserConsent {
        tenant_id: t.id,
        user_id: u.id,
        client_id,
        api_client_id: api.client_id,
        scope: scope.into(),
        created_at: 3_000,
    };
    let flow = FlowRecord {
        id: FlowId::new_random(),
        tenant_id: t.id,
        client_id: Some(client.client_id),
        state: "{}".into(),
        version: 1,
        created_at: 1_000,
        expires_at: 9_000,
        spent_at: None,
    };
    store.create_flow(&flow).await.unwrap();
    let writes = [
        FlowWrite::Consent(vec![
            consent(client.client_id, "Orders.Read"),
            consent(client.client_id, "Orders.Write"),
        ]),
        FlowWrite::Consent(vec![consent(second.client_id, "Orders.Read")]),
    ];
    store
        .save_flow(
            &FlowRecord {
                version: 2,
                ..flow.clone()
            },
            &writes,
        )
        .await
        .unwrap();
    // The same consent again (a second tab) changes nothing.
    store
        .save_flow(
            &FlowRecord {
                version: 3,
                ..flow.clone()
            },
            &writes[..1],
        )
        .await
        .unwrap();
    let scopes = |list: Vec<UserConsent>| -> Vec<(ClientId, String)> {
        list.into_iter().map(|c| (c.client_id, c.scope)).collect()
    };
    assert_eq!(
        scopes(
            store
                .user_consents(t.id, u.id, Some(client.client_id))
                .await
                .unwrap()
        ),
        vec![
            (client.client_id, "Orders.Read".to_owned()),
            (client.client_id, "Orders.Write".to_owned())
        ]
    );
    assert_eq!(
        store.user_consents(t.id, u.id, None).await.unwrap().len(),
        3
    );
    assert!(
        store
            .user_consents(other.id, u.id, None)
            .await
            .unwrap()
            .is_empty(),
        "isolated"
    );
    assert_eq!(
        store
            .revoke_user_consents(other.id, u.id, None)
            .await
            .unwrap(),
        0,
        "another tenant revokes nothing"
    );
    assert_eq!(
        store
            .revoke_user_consents(t.id, u.id, Some(client.client_id))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        scopes(store.user_consents(t.id, u.id, None).await.unwrap()),
        vec![(second.client_id, "Orders.Read".to_owned())]
    );
    // Deleting the API takes its consents with it.
    store.delete_application(t.id, api.client_id).await.unwrap();
    assert!(
        store
            .user_consents(t.id, u.id, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An API that stops defining a scope or role, or stops allowing a role for apps or users,
/// loses the grants, assignments and consents of it with the same change: defined again
/// later, the name starts with none.
pub(super) async fn a_changed_api_keeps_only_what_it_still_defines(store: Arc<dyn Store>) {
    use portico_core::directory::{ApiScope, AppRole, ExposedApi, RoleMembers};
    use portico_core::ids::FlowId;
    use portico_core::store::{FlowRecord, FlowWrite, UserConsent};

    let (t, u, client) = setup(store.as_ref()).await;
    let role = |name: &str, allowed| AppRole {
        name: name.into(),
        allowed,
        description: String::new(),
    };
    let mut api = Application {
        client_id: ClientId::new_random(),
        identifier_uri: None,
        api: ExposedApi {
            scopes: vec![
                ApiScope::new("Orders.Read", None),
                ApiScope::new("Orders.Write", None),
            ],
            roles: vec![
                role("Orders.Admin", RoleMembers::Users),
                role("Orders.Sync", RoleMembers::Both),
            ],
            token_exchange: Vec::new(),
        },
        ..client.clone()
    };
    store.create_application(&api, None).await.unwrap();
    let grant = |kind, name: &str| PermissionGrant {
        tenant_id: t.id,
        client_id: client.client_id,
        api_client_id: api.client_id,
        kind,
        name: name.into(),
        created_at: 2_000,
    };
    store
        .grant_permissions(&[
            grant(PermissionKind::Scope, "Orders.Read"),
            grant(PermissionKind::Scope, "Orders.Write"),
            grant(PermissionKind::Role, "Orders.Sync"),
        ])
        .await
        .unwrap();
    for role in ["Orders.Admin", "Orders.Sync"] {
        store
            .assign_role(&RoleAssignment {
                tenant_id: t.id,
                api_client_id: api.client_id,
                role: role.into(),
                user_id: u.id,
                created_at: 2_000,
            })
            .await
            .unwrap();
    }
    let flow = FlowRecord {
        id: FlowId::new_random(),
        tenant_id: t.id,
        client_id: Some(client.client_id),
        state: "{}".into(),
        version: 1,
        created_at: 1_000,
        expires_at: 9_000,
        spent_at: None,
    };
    store.create_flow(&flow).await.unwrap();
    let consent = |scope: &str| UserConsent {
        tenant_id: t.id,
        user_id: u.id,
        client_id: client.client_id,
        api_client_id: api.client_id,
        scope: scope.into(),
        created_at: 2_000,
    };
    store
        .save_flow(
            &FlowRecord { version: 2, ..flow },
            &[FlowWrite::Consent(vec![
                consent("Orders.Read"),
                consent("Orders.Write"),
            ])],
        )
        .await
        .unwrap();

    // Orders.Write and Orders.Admin go; Orders.Sync is now for users only.
    api.api = ExposedApi {
        scopes: vec![ApiScope::new("Orders.Read", None)],
        roles: vec![role("Orders.Sync", RoleMembers::Users)],
        token_exchange: Vec::new(),
    };
    store.update_application(&api).await.unwrap();
    let held: Vec<(PermissionKind, String)> = store
        .permission_grants(t.id, client.client_id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.kind, g.name))
        .collect();
    assert_eq!(
        held,
        vec![(PermissionKind::Scope, "Orders.Read".to_owned())]
    );
    assert_eq!(
        store.user_roles(t.id, api.client_id, u.id).await.unwrap(),
        vec!["Orders.Sync"]
    );
    let consented: Vec<String> = store
        .user_consents(t.id, u.id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.scope)
        .collect();
    assert_eq!(consented, vec!["Orders.Read"]);
}
