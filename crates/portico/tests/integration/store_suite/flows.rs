//! Sign-in engine flows and the writes their steps commit.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::{MfaMethod, User};
use portico_core::ids::UserId;
use portico_core::store::Store;

use super::*;
use crate::harness::join_all;

pub(super) async fn engine_state(store: Arc<dyn Store>) {
    use portico_core::ids::{AuthMethodId, FlowId};
    use portico_core::store::{AuthMethodRecord, FlowRecord, FlowWrite};

    let (t, user, app) = setup(store.as_ref()).await;
    // Flows: created at version 1, saved only over the version they were read at.
    let flow = FlowRecord {
        id: FlowId::new_random(),
        tenant_id: t.id,
        client_id: Some(app.client_id),
        state: "{}".into(),
        version: 1,
        created_at: 1_000,
        expires_at: 2_000,
        spent_at: None,
    };
    store.create_flow(&flow).await.unwrap();
    assert_eq!(
        store.find_flow(t.id, flow.id, 1_500).await.unwrap(),
        Some(flow.clone())
    );
    assert_eq!(
        store.find_flow(t.id, flow.id, 2_000).await.unwrap(),
        None,
        "expired"
    );
    let (other, _, _) = setup(store.as_ref()).await;
    assert_eq!(
        store.find_flow(other.id, flow.id, 1_500).await.unwrap(),
        None,
        "isolated"
    );
    let next = FlowRecord {
        version: 2,
        state: "{\"step\":2}".into(),
        expires_at: 3_000,
        ..flow.clone()
    };
    let results = join_all(
        (0..4)
            .map(|_| {
                let store = Arc::clone(&store);
                let next = next.clone();
                async move { store.save_flow(&next, &[]).await }
            })
            .collect(),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one writer wins"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Contended)))
    );
    assert_eq!(
        store.find_flow(t.id, flow.id, 2_500).await.unwrap(),
        Some(next.clone())
    );

    // A step's writes commit with the save, or not at all: a sign-up whose address was taken
    // meanwhile leaves the flow where it was, and nothing else written.
    let taken = User {
        id: UserId::new_random(),
        ..user.clone()
    };
    let newcomer = portico_core::store::AuthMethodRecord {
        id: AuthMethodId::new_random(),
        tenant_id: t.id,
        user_id: user.id,
        kind: MfaMethod::EmailOtp,
        target: Some("a@example.com".into()),
        sealed_secret: None,
        created_at: 1_000,
    };
    let step3 = FlowRecord {
        version: 3,
        ..next.clone()
    };
    let half_done = [
        FlowWrite::AddMethod {
            method: newcomer.clone(),
            only_if_none: false,
            recovery_digests: vec!["r1".into()],
            totp_step: None,
        },
        FlowWrite::CreateUser(taken),
    ];
    assert!(matches!(
        store.save_flow(&step3, &half_done).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_flow(t.id, flow.id, 2_500).await.unwrap(),
        Some(next.clone()),
        "the flow did not move"
    );
    assert!(
        store.auth_methods(t.id, user.id).await.unwrap().is_empty(),
        "no half-done step"
    );
    // A save that loses the version race writes nothing either.
    let stale = FlowRecord {
        version: 2,
        ..next.clone()
    };
    assert!(matches!(
        store.save_flow(&stale, &half_done[..1]).await,
        Err(StoreError::Contended)
    ));
    assert!(store.auth_methods(t.id, user.id).await.unwrap().is_empty());
    // A registration that passed no second factor adds one only to a user who has none at the
    // commit: a factor registered meanwhile elsewhere undoes it.
    let registered = User {
        id: UserId::new_random(),
        email: "registered@example.com".into(),
        ..user.clone()
    };
    store.create_user(&registered).await.unwrap();
    let theirs = portico_core::store::AuthMethodRecord {
        user_id: registered.id,
        ..newcomer.clone()
    };
    store.add_auth_method(&theirs, &[]).await.unwrap();
    let another = portico_core::store::AuthMethodRecord {
        id: AuthMethodId::new_random(),
        ..theirs.clone()
    };
    assert!(matches!(
        store
            .save_flow(
                &step3,
                &[FlowWrite::AddMethod {
                    method: another,
                    only_if_none: true,
                    recovery_digests: vec![],
                    totp_step: None,
                }],
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.auth_methods(t.id, registered.id).await.unwrap().len(),
        1
    );
    // Spent by the save itself: never found or saved again, whatever the clock says.
    let spent = FlowRecord {
        spent_at: Some(2_100),
        ..step3.clone()
    };
    store.save_flow(&spent, &[]).await.unwrap();
    assert_eq!(store.find_flow(t.id, flow.id, 1_500).await.unwrap(), None);
    let after = FlowRecord {
        version: 4,
        spent_at: None,
        ..step3
    };
    assert!(matches!(
        store.save_flow(&after, &[]).await,
        Err(StoreError::Contended)
    ));

    // Second factors and recovery codes.
    let totp = AuthMethodRecord {
        id: AuthMethodId::new_random(),
        tenant_id: t.id,
        user_id: user.id,
        kind: MfaMethod::Totp,
        target: None,
        sealed_secret: Some(vec![1, 2, 3]),
        created_at: 1_000,
    };
    store
        .add_auth_method(&totp, &["d1".to_owned(), "d2".to_owned()])
        .await
        .unwrap();
    let sms = AuthMethodRecord {
        id: AuthMethodId::new_random(),
        kind: MfaMethod::Sms,
        target: Some("+15551234567".into()),
        sealed_secret: None,
        created_at: 1_001,
        ..totp.clone()
    };
    store.add_auth_method(&sms, &[]).await.unwrap();
    assert_eq!(
        store.auth_methods(t.id, user.id).await.unwrap(),
        vec![totp.clone(), sms]
    );
    assert!(
        store
            .auth_methods(other.id, user.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.use_totp_step(t.id, totp.id, 100).await.unwrap());
    assert!(
        !store.use_totp_step(t.id, totp.id, 100).await.unwrap(),
        "replay"
    );
    assert!(
        !store.use_totp_step(t.id, totp.id, 99).await.unwrap(),
        "older step"
    );
    assert!(
        store
            .use_recovery_code(t.id, user.id, "d1", 1_100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(t.id, user.id, "d1", 1_101)
            .await
            .unwrap(),
        "spent"
    );
    assert!(
        !store
            .use_recovery_code(other.id, user.id, "d2", 1_101)
            .await
            .unwrap()
    );

    // Password changes keep a short history and clear the lockout.
    store
        .save_lockout(
            t.id,
            portico_core::store::LockoutSubject::User(user.id),
            &portico_core::store::LockoutRecord {
                failures: 3,
                ..Default::default()
            },
            1_000,
        )
        .await
        .unwrap();
    for (i, hash) in ["h1", "h2", "h3", "h4"].iter().enumerate() {
        store
            .set_password(t.id, user.id, hash, 2, 2_000 + i as i64)
            .await
            .unwrap();
    }
    assert_eq!(
        store.password_history(t.id, user.id).await.unwrap(),
        vec!["h3", "h2"]
    );
    let found = store.find_user(t.id, user.id).await.unwrap().unwrap();
    assert_eq!(found.password_hash.as_deref(), Some("h4"));
    assert_eq!(
        store
            .lockout(t.id, portico_core::store::LockoutSubject::User(user.id))
            .await
            .unwrap()
            .failures,
        0
    );
    assert!(matches!(
        store.set_password(other.id, user.id, "x", 2, 3_000).await,
        Err(StoreError::NotFound(_))
    ));

    // Disabling.
    store
        .set_user_enabled(t.id, user.id, false, 3_000)
        .await
        .unwrap();
    assert!(
        !store
            .find_user(t.id, user.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(matches!(
        store
            .set_user_enabled(other.id, user.id, false, 3_000)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// A reset's new password is written only if the user was not signed out everywhere since
/// the flow looked, and it moves the stamp to the value the flow chose (which the flow then
/// knows as its own).
pub(super) async fn a_reset_password_yields_to_a_sign_out_it_did_not_see(store: Arc<dyn Store>) {
    use portico_core::ids::FlowId;
    use portico_core::store::{FlowRecord, FlowWrite};

    let (t, user, app) = setup(store.as_ref()).await;
    let flow = FlowRecord {
        id: FlowId::new_random(),
        tenant_id: t.id,
        client_id: Some(app.client_id),
        state: "{}".into(),
        version: 1,
        created_at: 1_000,
        expires_at: 5_000,
        spent_at: None,
    };
    store.create_flow(&flow).await.unwrap();
    let reset = |seen_sign_out, signs_out_at| FlowWrite::SetPassword {
        user: user.id,
        password_hash: "reset-hash".into(),
        keep: 5,
        now: 1_200,
        seen_sign_out,
        signs_out_at,
    };
    // Signed out everywhere (a new password by an admin) after the flow saw "never".
    store
        .set_password(t.id, user.id, "admin-hash", 5, 1_100)
        .await
        .unwrap();
    let step = FlowRecord {
        version: 2,
        ..flow.clone()
    };
    assert!(matches!(
        store.save_flow(&step, &[reset(0, 1_200)]).await,
        Err(StoreError::SessionEnded)
    ));
    let kept = store.find_user(t.id, user.id).await.unwrap().unwrap();
    assert_eq!(kept.password_hash.as_deref(), Some("admin-hash"));
    assert_eq!(
        store
            .find_flow(t.id, flow.id, 1_300)
            .await
            .unwrap()
            .unwrap()
            .version,
        1,
        "nothing of the step was saved"
    );
    // A flow that saw the latest sign-out resets, and the stamp is the one it chose.
    let seen = store
        .user_signed_out_at(t.id, user.id)
        .await
        .unwrap()
        .unwrap();
    store
        .save_flow(&step, &[reset(seen, seen + 100)])
        .await
        .unwrap();
    assert_eq!(
        store.user_signed_out_at(t.id, user.id).await.unwrap(),
        Some(seen + 100)
    );
}
