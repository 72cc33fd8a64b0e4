//! Passkeys: one credential id per tenant, a user's keys listed, renamed and removed only by
//! that user, uses recorded; ceremonies taken once, only while live, only in their tenant.

use std::sync::Arc;

use portico_core::store::{PasskeyRecord, PasskeyUse, Store, WebauthnChallengeRecord};

use super::setup;

fn passkey(record_of: &portico_core::directory::User, id: &str) -> PasskeyRecord {
    PasskeyRecord {
        tenant_id: record_of.tenant_id,
        credential_id: id.into(),
        user_id: record_of.id,
        user_handle: "handle".into(),
        name: "Laptop".into(),
        credential: "{}".into(),
        aaguid: None,
        backup_eligible: true,
        backup_state: false,
        sign_count: 0,
        created_at: 1_000,
        last_used_at: None,
    }
}

pub(super) async fn passkeys_and_ceremonies_within_their_tenant(store: Arc<dyn Store>) {
    let (t, u, _) = setup(store.as_ref()).await;
    let (other, stranger, _) = setup(store.as_ref()).await;
    assert!(store.add_passkey(&passkey(&u, "cred-1")).await.unwrap());
    assert!(
        !store.add_passkey(&passkey(&u, "cred-1")).await.unwrap(),
        "a credential id is registered once per tenant"
    );
    // Another tenant is another relying party: the same id is its own there.
    assert!(
        store
            .add_passkey(&passkey(&stranger, "cred-1"))
            .await
            .unwrap()
    );
    let mut second = passkey(&u, "cred-2");
    second.created_at = 2_000;
    store.add_passkey(&second).await.unwrap();
    let listed = store.passkeys_of(t.id, u.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| p.credential_id.as_str())
            .collect::<Vec<_>>(),
        ["cred-1", "cred-2"]
    );
    assert_eq!(listed[1], second, "read back whole");
    assert!(store.passkey(other.id, "cred-2").await.unwrap().is_none());

    let use_of = PasskeyUse {
        credential: "{\"counter\":7}".into(),
        sign_count: 7,
        backup_eligible: true,
        backup_state: true,
        used_at: 3_000,
    };
    assert!(
        !store
            .record_passkey_use(t.id, "cred-1", 5, &use_of)
            .await
            .unwrap(),
        "only from the count it was read at (another use got there first)"
    );
    assert!(
        store
            .record_passkey_use(t.id, "cred-1", 0, &use_of)
            .await
            .unwrap()
    );
    let used = store.passkey(t.id, "cred-1").await.unwrap().unwrap();
    assert_eq!(
        (used.sign_count, used.backup_state, used.last_used_at),
        (7, true, Some(3_000))
    );
    assert_eq!(
        store
            .passkey(other.id, "cred-1")
            .await
            .unwrap()
            .unwrap()
            .sign_count,
        0,
        "the other tenant's key is untouched"
    );

    assert!(
        !store
            .rename_passkey(t.id, stranger.id, "cred-1", "Mine")
            .await
            .unwrap()
    );
    assert!(
        store
            .rename_passkey(t.id, u.id, "cred-1", "Phone")
            .await
            .unwrap()
    );
    assert_eq!(
        store.passkey(t.id, "cred-1").await.unwrap().unwrap().name,
        "Phone"
    );
    assert!(
        !store
            .remove_passkey(other.id, u.id, "cred-2")
            .await
            .unwrap()
    );
    assert!(store.remove_passkey(t.id, u.id, "cred-2").await.unwrap());
    assert_eq!(store.passkeys_of(t.id, u.id).await.unwrap().len(), 1);

    let ceremony = WebauthnChallengeRecord {
        tenant_id: t.id,
        id: "ceremony".into(),
        purpose: "authenticate".into(),
        binding: "flow:1".into(),
        user_id: Some(u.id),
        state: "{}".into(),
        expires_at: 1_300,
    };
    store.create_webauthn_challenge(&ceremony).await.unwrap();
    assert!(
        store
            .take_webauthn_challenge(other.id, "ceremony", 1_000)
            .await
            .unwrap()
            .is_none(),
        "not from another tenant"
    );
    assert_eq!(
        store
            .take_webauthn_challenge(t.id, "ceremony", 1_000)
            .await
            .unwrap(),
        Some(ceremony.clone())
    );
    assert!(
        store
            .take_webauthn_challenge(t.id, "ceremony", 1_000)
            .await
            .unwrap()
            .is_none(),
        "taken once"
    );
    let late = WebauthnChallengeRecord {
        id: "late".into(),
        ..ceremony
    };
    store.create_webauthn_challenge(&late).await.unwrap();
    assert!(
        store
            .take_webauthn_challenge(t.id, "late", 1_300)
            .await
            .unwrap()
            .is_none(),
        "not once expired"
    );
}
