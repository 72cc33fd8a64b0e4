//! Initial access tokens and registered clients.

use std::sync::Arc;

use portico_core::ids::ClientId;
use portico_core::store::{ClientRegistration, InitialAccessTokenRecord, Store};

use super::*;

/// An initial access token allows its registrations and no more, within its tenant, until
/// it expires or is revoked; each registration is stored with its own access token.
pub(super) async fn initial_access_tokens_are_spent_once_per_registration(store: Arc<dyn Store>) {
    let (t, _, app) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let token = InitialAccessTokenRecord {
        tenant_id: t.id,
        id: "iat-1".into(),
        token_digest: format!("iat-digest-{}", uuid::Uuid::new_v4()),
        max_uses: 2,
        uses: 0,
        created_at: 1_000,
        expires_at: 5_000,
    };
    store.create_initial_access_token(&token).await.unwrap();
    let registered = |n: u32| Application {
        client_id: ClientId::new_random(),
        name: format!("registered {n}"),
        identifier_uri: None,
        ..app.clone()
    };
    let reg = |digest: &str| ClientRegistration {
        token_digest: digest.to_owned(),
        auth_method: "client_secret_post".to_owned(),
    };
    let first = registered(1);
    // Another tenant's app cannot spend it; an expired token spends nothing.
    let foreign = Application {
        tenant_id: other.id,
        ..registered(9)
    };
    assert!(
        !store
            .register_application(&foreign, None, &token.token_digest, &reg("rat-x"), 1_100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .register_application(&first, None, &token.token_digest, &reg("rat-1"), 5_000)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        store
            .register_application(&first, None, &token.token_digest, &reg("rat-1"), 1_100)
            .await
            .unwrap()
    );
    assert!(
        store
            .register_application(
                &registered(2),
                None,
                &token.token_digest,
                &reg("rat-2"),
                1_100
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .register_application(
                &registered(3),
                None,
                &token.token_digest,
                &reg("rat-3"),
                1_100
            )
            .await
            .unwrap(),
        "used up"
    );
    assert_eq!(
        store.registration(t.id, first.client_id).await.unwrap(),
        Some(reg("rat-1"))
    );
    store
        .set_registration_auth_method(t.id, first.client_id, "private_key_jwt")
        .await
        .unwrap();
    assert_eq!(
        store
            .registration(t.id, first.client_id)
            .await
            .unwrap()
            .map(|r| r.auth_method),
        Some("private_key_jwt".to_owned())
    );
    assert_eq!(
        store.registration(other.id, first.client_id).await.unwrap(),
        None
    );
    assert_eq!(
        store.registration(t.id, app.client_id).await.unwrap(),
        None,
        "an operator's app has no registration"
    );
    let listed = store.initial_access_tokens(t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].uses, listed[0].max_uses), (2, 2));
    assert!(
        store
            .initial_access_tokens(other.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .revoke_initial_access_token(other.id, "iat-1")
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_initial_access_token(t.id, "iat-1")
            .await
            .unwrap()
    );
    assert!(store.initial_access_tokens(t.id).await.unwrap().is_empty());
    // Deleting the app takes its registration along.
    assert!(
        store
            .delete_application(t.id, first.client_id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.registration(t.id, first.client_id).await.unwrap(),
        None
    );
}
