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
