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

/// Ending a session queues, in the same transaction, a logout notice for each app it served
/// that listens on the back channel; signing a user out everywhere does so for every live
/// session; a session already ended queues nothing more.
pub(super) async fn ended_sessions_queue_logout_notices(store: Arc<dyn Store>) {
    use portico_core::directory::LogoutUris;
    use portico_core::outbox::{Channel, LogoutNotice};
    let (t, u, spa) = setup(store.as_ref()).await;
    let listening = Application {
        client_id: portico_core::ids::ClientId::new_random(),
        kind: portico_core::directory::AppKind::Web,
        identifier_uri: None,
        logout: LogoutUris {
            backchannel: Some("https://app.example/backchannel".into()),
            frontchannel: None,
        },
        ..spa.clone()
    };
    store.create_application(&listening, None).await.unwrap();
    // One session serves both apps (SSO); a second serves the listening one.
    let first = issue_code(store.as_ref(), &t, &u, &spa, "bc-spa").await;
    let mut again = code(&t, &u, &listening, "bc-web");
    again.session_id = first.session_id;
    store.create_authorization_code(&again).await.unwrap();
    let second = issue_code(store.as_ref(), &t, &u, &listening, "bc-web-2").await;
    let (other_tenant, other_user, other_app) = setup(store.as_ref()).await;
    issue_code(
        store.as_ref(),
        &other_tenant,
        &other_user,
        &other_app,
        "bc-other",
    )
    .await;

    let mut served = store
        .end_session(t.id, first.session_id, 1_500)
        .await
        .unwrap();
    served.sort();
    let mut expected = vec![spa.client_id, listening.client_id];
    expected.sort();
    assert_eq!(served, expected, "every app the session served");
    // Claimed and delivered, as the worker does (a claimed message comes back once its
    // lease is over).
    let claim = |at: i64| {
        let store = Arc::clone(&store);
        async move {
            let mut notices = Vec::new();
            for record in store.claim_outbox(at, at + 60, 50).await.unwrap() {
                store.outbox_delivered(record.id, at).await.unwrap();
                if record.tenant_id == Some(t.id) {
                    assert_eq!(record.channel, Channel::Logout);
                    assert_eq!(record.recipient, listening.client_id.to_string());
                    notices.push(LogoutNotice::from_record(&record).unwrap());
                }
            }
            notices
        }
    };
    assert_eq!(
        claim(1_500).await,
        vec![LogoutNotice {
            client_id: listening.client_id,
            user_id: u.id,
            session_id: first.session_id,
        }],
        "only the app that listens"
    );
    assert!(
        store
            .end_session(t.id, first.session_id, 1_501)
            .await
            .unwrap()
            .is_empty(),
        "already ended"
    );
    store.sign_out_user(t.id, u.id, 1_600).await.unwrap();
    assert_eq!(
        claim(1_600).await,
        vec![LogoutNotice {
            client_id: listening.client_id,
            user_id: u.id,
            session_id: second.session_id,
        }],
        "the live session, not the one ended before"
    );
    store.sign_out_user(t.id, u.id, 1_700).await.unwrap();
    assert!(claim(1_700).await.is_empty());
}
