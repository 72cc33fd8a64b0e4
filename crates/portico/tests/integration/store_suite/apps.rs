//! Applications: listed, changed and deleted within their tenant.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::AppKind;
use portico_core::directory::Application;
use portico_core::ids::ClientId;
use portico_core::store::{ClientSecretRecord, CodeRedemption, Store};

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
    store.create_application(&second, None).await.unwrap();
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
        identifier_uri: Some("api://elsewhere".into()),
        api: portico_core::directory::ExposedApi {
            scopes: vec![portico_core::directory::ApiScope::new("Orders.Read", None)],
            roles: vec![portico_core::directory::AppRole {
                name: "Orders.Admin".into(),
                allowed: portico_core::directory::RoleMembers::Both,
                description: "Run the shop".into(),
            }],
            token_exchange: Vec::new(),
        },
        assignment_required: true,
        device_code: true,
        require_par: true,
        access_token_lifetime_secs: Some(600),
        refresh_token_lifetime_secs: Some(7200),
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
    assert_eq!(stored.identifier_uri.as_deref(), Some("api://elsewhere"));
    assert_eq!(stored.api, changed.api);
    assert!(stored.assignment_required);
    assert_eq!(
        (
            stored.access_token_lifetime_secs,
            stored.refresh_token_lifetime_secs
        ),
        (Some(600), Some(7200))
    );
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

/// Secrets: made with their app in one transaction, several at once, removed one by one, in
/// their tenant only, and gone with their app.
pub(super) async fn client_secrets_rotate_within_their_app(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let app = Application {
        client_id: ClientId::new_random(),
        tenant_id: t.id,
        name: "daemon".into(),
        kind: AppKind::Daemon,
        redirect_uris: Vec::new(),
        identifier_uri: None,
        optional_claims: Vec::new(),
        native_auth: false,
        cors_origins: Vec::new(),
        api: Default::default(),
        assignment_required: false,
        device_code: false,
        require_par: false,
        require_dpop: false,
        groups_claim: Default::default(),
        claim_mappings: Vec::new(),
        access_token_lifetime_secs: None,
        refresh_token_lifetime_secs: None,
        client_keys: Vec::new(),
        implicit: Default::default(),
        logout: Default::default(),
        created_at: 1_000,
    };
    let secret = |id: &str, created_at: i64| ClientSecretRecord {
        tenant_id: t.id,
        client_id: app.client_id,
        id: id.into(),
        secret_digest: format!("digest-{id}"),
        hint: "abc".into(),
        created_at,
        expires_at: Some(created_at + 1_000),
    };
    store
        .create_application(&app, Some(&secret("first", 1_000)))
        .await
        .unwrap();
    // An assertion id counts once, until the housekeeping after its expiry.
    let record = |jti: &'static str| store.record_client_assertion(t.id, app.client_id, jti, 2_000);
    assert!(record("jti-1").await.unwrap());
    assert!(!record("jti-1").await.unwrap(), "a replay");
    assert!(record("jti-2").await.unwrap());
    store.purge_expired(2_000 + 25 * 3600).await.unwrap();
    assert!(
        record("jti-1").await.unwrap(),
        "forgotten once long expired"
    );
    store
        .add_client_secret(&secret("second", 1_500))
        .await
        .unwrap();
    let ids =
        |secrets: Vec<ClientSecretRecord>| secrets.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.client_secrets(t.id, app.client_id).await.unwrap()),
        vec!["first", "second"]
    );
    let first = &store.client_secrets(t.id, app.client_id).await.unwrap()[0];
    assert_eq!(first, &secret("first", 1_000));
    assert!(first.is_live(1_999) && !first.is_live(2_000));
    // Not through another tenant.
    assert!(
        store
            .client_secrets(other.id, app.client_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .remove_client_secret(other.id, app.client_id, "first")
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_client_secret(t.id, app.client_id, "first")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_client_secret(t.id, app.client_id, "first")
            .await
            .unwrap()
    );
    assert_eq!(
        ids(store.client_secrets(t.id, app.client_id).await.unwrap()),
        vec!["second"]
    );
    // A secret for no application is refused; the app's secrets go with it.
    let orphan = ClientSecretRecord {
        client_id: ClientId::new_random(),
        ..secret("orphan", 1_000)
    };
    assert!(store.add_client_secret(&orphan).await.is_err());
    assert!(store.delete_application(t.id, app.client_id).await.unwrap());
    assert!(
        store
            .client_secrets(t.id, app.client_id)
            .await
            .unwrap()
            .is_empty()
    );
}
