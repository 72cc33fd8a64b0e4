//! Applications: listed, changed and deleted within their tenant.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::Application;
use portico_core::ids::ClientId;
use portico_core::store::{CodeRedemption, Store};

use super::*;

/// Another tenant's application can be neither read, changed nor deleted through this one;
/// deleting an app ends its grants (its codes no longer redeem) and keeps the tenant's other
/// apps.
pub(super) async fn applications_change_and_go_within_their_tenant(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let (other, _, theirs) = setup(store.as_ref()).await;
    let second = Application {
        client_id: ClientId::new_random(),
        name: "second".into(),
        identifier_uri: None,
        created_at: 1_001,
        ..app.clone()
    };
    store.create_application(&second).await.unwrap();
    let ids = |apps: Vec<Application>| apps.into_iter().map(|a| a.client_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.applications(t.id).await.unwrap()),
        vec![app.client_id, second.client_id],
        "oldest first, this tenant's only"
    );
    let changed = Application {
        name: "renamed".into(),
        redirect_uris: vec!["https://app.example/other".into()],
        optional_claims: Vec::new(),
        native_auth: false,
        cors_origins: Vec::new(),
        // Not changeable here: the store keeps what it has.
        identifier_uri: Some("api://elsewhere".into()),
        ..app.clone()
    };
    store.update_application(&changed).await.unwrap();
    let stored = store
        .find_application(t.id, app.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "renamed");
    assert_eq!(stored.redirect_uris, vec!["https://app.example/other"]);
    assert!(stored.optional_claims.is_empty() && stored.cors_origins.is_empty());
    assert!(!stored.native_auth);
    assert_eq!(stored.identifier_uri.as_deref(), Some("api://orders"));
    // Through the other tenant: nothing.
    let smuggled = Application {
        tenant_id: other.id,
        ..changed.clone()
    };
    assert!(matches!(
        store.update_application(&smuggled).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        !store
            .delete_application(other.id, app.client_id)
            .await
            .unwrap()
    );
    assert!(
        store
            .find_application(other.id, theirs.client_id)
            .await
            .unwrap()
            .is_some()
    );
    // Deleting ends the app's grants.
    let c = issue_code(store.as_ref(), &t, &u, &app, "code-of-deleted-app").await;
    assert!(store.delete_application(t.id, app.client_id).await.unwrap());
    assert!(!store.delete_application(t.id, app.client_id).await.unwrap());
    assert!(!store.grant_is_active(t.id, c.grant_id).await.unwrap());
    assert!(matches!(
        store
            .redeem_authorization_code(t.id, "code-of-deleted-app", 1_001)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
    assert_eq!(
        ids(store.applications(t.id).await.unwrap()),
        vec![second.client_id]
    );
}
