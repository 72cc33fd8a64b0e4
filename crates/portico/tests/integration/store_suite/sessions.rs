//! Sessions, signing keys and signing out everywhere.

use std::sync::Arc;

use portico_core::directory::{MfaMethod, User};
use portico_core::ids::SessionId;
use portico_core::store::{KeyState, SessionRecord, Store, StoredSigningKey};

use super::*;

pub(super) async fn sessions_and_key_rotation(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let session = SessionRecord {
        id: SessionId::new_random(),
        secret_digest: format!("sd-{}", uuid::Uuid::new_v4()),
        tenant_id: t.id,
        user_id: u.id,
        auth_time: 1_000,
        amr: "otp".into(),
        expires_at: 2_000,
        persistent: false,
        second_factors: vec![],
    };
    store.create_session(&session, 0).await.unwrap();
    assert_eq!(
        store
            .find_session(t.id, &session.secret_digest, 1_500)
            .await
            .unwrap()
            .map(|found| found.amr),
        Some("otp".to_owned())
    );
    // A step-up records the kinds passed and replaces the cookie secret: the old one is dead.
    let stronger = SessionRecord {
        secret_digest: format!("sd-{}", uuid::Uuid::new_v4()),
        amr: "otp mfa".into(),
        second_factors: vec![MfaMethod::Totp, MfaMethod::Sms],
        ..session.clone()
    };
    let (other_tenant, _, _) = setup(store.as_ref()).await;
    assert!(
        !store
            .strengthen_session(other_tenant.id, &stronger, &session.secret_digest, 1_500)
            .await
            .unwrap(),
        "isolated"
    );
    assert!(
        !store
            .strengthen_session(t.id, &stronger, "sd-a-cookie-replaced-meanwhile", 1_500)
            .await
            .unwrap(),
        "another step-up won"
    );
    assert!(
        store
            .strengthen_session(t.id, &stronger, &session.secret_digest, 1_500)
            .await
            .unwrap()
    );
    assert!(
        store
            .find_session(t.id, &session.secret_digest, 1_500)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .find_session(t.id, &stronger.secret_digest, 1_500)
            .await
            .unwrap(),
        Some(stronger.clone())
    );
    let session = stronger;
    assert!(
        store
            .find_session(t.id, &session.secret_digest, 2_000)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let mut c = code(&t, &u, &app, "code-sess");
    c.session_id = session.id;
    store.create_authorization_code(&c).await.unwrap();
    store.end_session(t.id, session.id, 1_600).await.unwrap();
    assert!(
        store
            .find_session(t.id, &session.secret_digest, 1_601)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store.grant_is_active(t.id, c.grant_id).await.unwrap(),
        "ending a session revokes its grants"
    );

    store
        .rotate_signing_keys(t.id, &key(t.id, "k3", KeyState::Next), 5_000, 2_000)
        .await
        .unwrap();
    let states = |keys: Vec<StoredSigningKey>| {
        let mut s: Vec<(String, KeyState)> = keys.into_iter().map(|k| (k.kid, k.state)).collect();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    };
    assert_eq!(
        states(store.signing_keys(t.id).await.unwrap()),
        vec![
            ("k1".into(), KeyState::Retired),
            ("k2".into(), KeyState::Current),
            ("k3".into(), KeyState::Next)
        ]
    );
    store
        .rotate_signing_keys(t.id, &key(t.id, "k4", KeyState::Next), 7_000, 6_000)
        .await
        .unwrap();
    assert_eq!(
        states(store.signing_keys(t.id).await.unwrap()),
        vec![
            ("k2".into(), KeyState::Retired),
            ("k3".into(), KeyState::Current),
            ("k4".into(), KeyState::Next)
        ],
        "k1's publication ended and it was deleted"
    );
    assert!(store.purge_expired(1_000_000).await.unwrap() > 0);
}

/// A new password or a disabled account ends every session of the user and revokes every
/// grant, and touches no one else's.
pub(super) async fn signing_out_everywhere(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let bystander = user(t.id, "b@example.com");
    store.create_user(&bystander).await.unwrap();
    let live = |who: &User, n: u32| {
        let session = SessionRecord {
            id: SessionId::new_random(),
            secret_digest: format!("sd-{}", uuid::Uuid::new_v4()),
            tenant_id: t.id,
            user_id: who.id,
            auth_time: 1_000,
            amr: "pwd".into(),
            expires_at: 9_000,
            persistent: false,
            second_factors: vec![],
        };
        let mut c = code(&t, who, &app, &format!("c-{n}-{}", uuid::Uuid::new_v4()));
        c.session_id = session.id;
        (session, c)
    };
    let mut mine = Vec::new();
    for n in 0..2 {
        let (session, c) = live(&u, n);
        store.create_session(&session, 0).await.unwrap();
        store.create_authorization_code(&c).await.unwrap();
        mine.push((session, c));
    }
    let (their_session, their_code) = live(&bystander, 9);
    store.create_session(&their_session, 0).await.unwrap();
    store.create_authorization_code(&their_code).await.unwrap();

    store
        .set_password(t.id, u.id, "new", 5, 1_500)
        .await
        .unwrap();
    for (session, c) in &mine {
        assert!(
            store
                .find_session(t.id, &session.secret_digest, 1_600)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!store.grant_is_active(t.id, c.grant_id).await.unwrap());
    }
    assert!(
        store
            .find_session(t.id, &their_session.secret_digest, 1_600)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .grant_is_active(t.id, their_code.grant_id)
            .await
            .unwrap()
    );

    // Enabling touches nothing; disabling signs out everywhere.
    store
        .set_user_enabled(t.id, bystander.id, true, 1_700)
        .await
        .unwrap();
    assert!(
        store
            .grant_is_active(t.id, their_code.grant_id)
            .await
            .unwrap()
    );
    store
        .set_user_enabled(t.id, bystander.id, false, 1_700)
        .await
        .unwrap();
    assert!(
        store
            .find_session(t.id, &their_session.secret_digest, 1_800)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .grant_is_active(t.id, their_code.grant_id)
            .await
            .unwrap()
    );
}
