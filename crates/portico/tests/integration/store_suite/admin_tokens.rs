//! The admin API's tokens and SCIM clients' tokens.

use std::sync::Arc;

use portico_core::store::Store;

use super::setup;

/// Admin tokens: valid until revoked or expired, listed without secrets, global (not per
/// tenant).
pub(super) async fn admin_token_lifecycle(store: Arc<dyn Store>) {
    use portico_core::store::AdminTokenRecord;
    let forever = AdminTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: None,
        created_at: 1_000,
        expires_at: None,
        revoked_at: None,
    };
    let weekly = AdminTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: Some("weekly".into()),
        created_at: 1_001,
        expires_at: Some(2_000),
        revoked_at: None,
    };
    store
        .create_admin_token(&forever, "d-forever")
        .await
        .unwrap();
    store.create_admin_token(&weekly, "d-weekly").await.unwrap();
    let valid = |digest: &'static str, now: i64| {
        let store = Arc::clone(&store);
        async move {
            store
                .admin_token_valid(digest, now)
                .await
                .unwrap()
                .map(|t| t.id)
        }
    };
    assert_eq!(
        valid("d-forever", 1_000_000).await,
        Some(forever.id.clone())
    );
    assert_eq!(valid("d-weekly", 1_999).await, Some(weekly.id.clone()));
    assert_eq!(valid("d-weekly", 2_000).await, None, "expired");
    assert_eq!(valid("d-unknown", 1_500).await, None);
    let listed = store.admin_tokens().await.unwrap();
    assert!(listed.contains(&forever) && listed.contains(&weekly));
    assert!(store.revoke_admin_token(&forever.id, 1_500).await.unwrap());
    assert!(
        !store.revoke_admin_token(&forever.id, 1_600).await.unwrap(),
        "once"
    );
    assert!(!store.revoke_admin_token("no-such-id", 1_600).await.unwrap());
    assert_eq!(valid("d-forever", 1_501).await, None);
    let listed = store.admin_tokens().await.unwrap();
    let revoked = listed.iter().find(|t| t.id == forever.id).unwrap();
    assert_eq!(revoked.revoked_at, Some(1_500));
    assert_eq!(revoked.status(1_501), "revoked");
    assert_eq!(weekly.status(2_000), "expired");
}

/// SCIM tokens: valid only in their tenant, until they expire or are revoked.
pub(super) async fn scim_tokens_within_their_tenant(store: Arc<dyn Store>) {
    use portico_core::store::ScimTokenRecord;
    let (t, _, _) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let token = ScimTokenRecord {
        tenant_id: t.id,
        id: "scim-1".into(),
        created_at: 1_000,
        expires_at: Some(2_000),
        revoked_at: None,
    };
    let digest = format!("scim-digest-{}", uuid::Uuid::new_v4());
    store.create_scim_token(&token, &digest).await.unwrap();
    assert_eq!(
        store.scim_token_valid(t.id, &digest, 1_500).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store
            .scim_token_valid(other.id, &digest, 1_500)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.scim_token_valid(t.id, &digest, 2_000).await.unwrap(),
        None,
        "expired"
    );
    assert!(
        !store
            .revoke_scim_token(other.id, "scim-1", 1_600)
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_scim_token(t.id, "scim-1", 1_600)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_scim_token(t.id, "scim-1", 1_700)
            .await
            .unwrap(),
        "once"
    );
    assert_eq!(
        store.scim_token_valid(t.id, &digest, 1_650).await.unwrap(),
        None
    );
    let listed = store.scim_tokens(t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(1_600));
    assert!(store.scim_tokens(other.id).await.unwrap().is_empty());
}
