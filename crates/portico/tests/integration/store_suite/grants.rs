//! Codes, refresh tokens and grants.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::ids::{GrantId, SessionId};
use portico_core::store::{
    CodeRedemption, GrantRecord, RefreshLifetime, RefreshPins, RefreshRedemption,
    RefreshTokenRecord, SessionRecord, Store,
};

use super::*;
use crate::harness::join_all;

/// Lifetimes that leave the rotation tests' tokens alive (grants start at 1_060 there).
pub(super) const LONG: RefreshLifetime = RefreshLifetime {
    idle_secs: 8_500,
    absolute_secs: 100_000,
};

pub(super) async fn codes_redeem_exactly_once(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let c = issue_code(store.as_ref(), &t, &u, &app, "code-race").await;
    let attempts = (0..8)
        .map(|_| store.redeem_authorization_code(t.id, "code-race", 1_001))
        .collect();
    let results = join_all(attempts).await;
    let redeemed = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeRedemption::Redeemed(won)) if won.amr == "pwd"))
        .count();
    let replayed = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeRedemption::Replayed(g)) if *g == c.grant_id))
        .count();
    assert_eq!((redeemed, replayed), (1, 7), "{results:?}");
    // A code bound to a DPoP key keeps the binding until it is redeemed.
    let mut bound = code(&t, &u, &app, "code-dpop");
    bound.session_id = c.session_id;
    bound.dpop_jkt = Some("jkt-of-the-client".into());
    store.create_authorization_code(&bound).await.unwrap();
    match store
        .redeem_authorization_code(t.id, "code-dpop", 1_001)
        .await
        .unwrap()
    {
        CodeRedemption::Redeemed(record) => {
            assert_eq!(record.dpop_jkt.as_deref(), Some("jkt-of-the-client"));
            // What the extensions provided comes back as it went in.
            assert_eq!(record.extension_claims, bound.extension_claims);
        }
        other => panic!("{other:?}"),
    }
}

pub(super) async fn refresh_rotation_and_reuse(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let c = issue_code(store.as_ref(), &t, &u, &app, "code-rt").await;
    store
        .create_refresh_token(&RefreshTokenRecord {
            token_digest: "rt-1".into(),
            tenant_id: t.id,
            grant_id: c.grant_id,
            client_id: app.client_id,
            user_id: u.id,
            session_id: c.session_id,
            scope: "openid offline_access".into(),
            auth_time: 1_000,
            amr: "pwd mfa".into(),
            issued_at: 1_000,
            expires_at: 9_000,
            audience: None,
            dpop_jkt: Some("jkt-of-the-client".into()),
        })
        .await
        .unwrap();
    // Read without spending: live in its tenant only, and not once it expires.
    let live = store.live_refresh_token(t.id, "rt-1", 1_005).await.unwrap();
    assert_eq!(
        live.map(|r| (r.grant_id, r.amr, r.dpop_jkt)),
        Some((
            c.grant_id,
            "pwd mfa".to_owned(),
            Some("jkt-of-the-client".to_owned())
        ))
    );
    let (other, _, _) = setup(store.as_ref()).await;
    assert!(
        store
            .live_refresh_token(other.id, "rt-1", 1_005)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .live_refresh_token(t.id, "rt-1", 9_000)
            .await
            .unwrap()
            .is_none()
    );
    let attempts = (0..6)
        .map(|i| {
            let store = Arc::clone(&store);
            async move {
                store
                    .rotate_refresh_token(
                        t.id,
                        "rt-1",
                        &format!("rt-2-{i}"),
                        LONG,
                        RefreshPins::default(),
                        1_010,
                    )
                    .await
            }
        })
        .collect();
    let results = join_all(attempts).await;
    let rotated = results
        .iter()
        .filter(|r| matches!(r, Ok(RefreshRedemption::Rotated(won)) if won.amr == "pwd mfa"))
        .count();
    assert_eq!(
        rotated, 1,
        "exactly one concurrent rotation wins: {results:?}"
    );
    let mut bound = None;
    for digest in (0..6).map(|i| format!("rt-2-{i}")) {
        if let Some(live) = store
            .live_refresh_token(t.id, &digest, 1_011)
            .await
            .unwrap()
        {
            bound = live.dpop_jkt;
        }
    }
    assert_eq!(
        bound.as_deref(),
        Some("jkt-of-the-client"),
        "the family stays bound to its key"
    );
    assert!(results.iter().all(|r| matches!(
        r,
        Ok(RefreshRedemption::Rotated(_) | RefreshRedemption::Reused(_))
    )));
    assert!(
        matches!(store.rotate_refresh_token(t.id, "rt-1", "rt-x", LONG, RefreshPins::default(), 1_020).await.unwrap(), RefreshRedemption::Reused(g) if g == c.grant_id)
    );
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "nope", "rt-y", LONG, RefreshPins::default(), 1_020)
            .await
            .unwrap(),
        RefreshRedemption::Invalid
    ));
    assert!(
        store
            .live_refresh_token(t.id, "rt-1", 1_020)
            .await
            .unwrap()
            .is_none(),
        "spent"
    );
    let mut live_successors = 0;
    for i in 0..6 {
        let digest = format!("rt-2-{i}");
        live_successors += usize::from(
            store
                .live_refresh_token(t.id, &digest, 1_020)
                .await
                .unwrap()
                .is_some(),
        );
    }
    assert_eq!(live_successors, 1, "the one successor is live");
    store.revoke_grant(t.id, c.grant_id, 1_030).await.unwrap();
    assert!(!store.grant_is_active(t.id, c.grant_id).await.unwrap());
    for i in 0..6 {
        let digest = format!("rt-2-{i}");
        assert!(
            store
                .live_refresh_token(t.id, &digest, 1_040)
                .await
                .unwrap()
                .is_none(),
            "revoked"
        );
    }
    // A revoked grant's surviving token is dead too.
    for i in 0..6 {
        let r = store
            .rotate_refresh_token(
                t.id,
                &format!("rt-2-{i}"),
                "rt-z",
                LONG,
                RefreshPins::default(),
                1_040,
            )
            .await
            .unwrap();
        assert!(matches!(r, RefreshRedemption::Invalid), "{r:?}");
    }
    // Expired tokens are invalid.
    let c2 = issue_code(store.as_ref(), &t, &u, &app, "code-rt2").await;
    store
        .create_refresh_token(&RefreshTokenRecord {
            token_digest: "rt-old".into(),
            tenant_id: t.id,
            grant_id: c2.grant_id,
            client_id: app.client_id,
            user_id: u.id,
            session_id: c2.session_id,
            scope: "openid".into(),
            auth_time: 1_000,
            amr: "pwd mfa".into(),
            issued_at: 1_000,
            expires_at: 1_100,
            audience: None,
            dpop_jkt: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .rotate_refresh_token(
                t.id,
                "rt-old",
                "rt-new",
                LONG,
                RefreshPins::default(),
                1_200
            )
            .await
            .unwrap(),
        RefreshRedemption::Invalid
    ));

    // However often a family is used, it ends at its absolute lifetime from the grant: the
    // successor of a token used late gets only what is left (grant made at 1_060).
    let c3 = issue_code(store.as_ref(), &t, &u, &app, "code-rt3").await;
    store
        .create_refresh_token(&RefreshTokenRecord {
            token_digest: "rt-a1".into(),
            tenant_id: t.id,
            grant_id: c3.grant_id,
            client_id: app.client_id,
            user_id: u.id,
            session_id: c3.session_id,
            scope: "openid offline_access".into(),
            auth_time: 1_000,
            amr: "pwd".into(),
            issued_at: 1_060,
            expires_at: 1_360,
            audience: None,
            dpop_jkt: None,
        })
        .await
        .unwrap();
    let fixed = RefreshLifetime {
        idle_secs: 300,
        absolute_secs: 300,
    };
    // A token from before audiences were kept: its successor takes the one passed on, and
    // keeps it through the next rotation whatever is passed then.
    let api = app.client_id;
    assert!(matches!(
        store
            .rotate_refresh_token(
                t.id,
                "rt-a1",
                "rt-a2",
                fixed,
                RefreshPins {
                    audience: Some(api),
                    ..RefreshPins::default()
                },
                1_300
            )
            .await
            .unwrap(),
        RefreshRedemption::Rotated(_)
    ));
    assert_eq!(
        store
            .live_refresh_token(t.id, "rt-a2", 1_300)
            .await
            .unwrap()
            .and_then(|r| r.audience),
        Some(api)
    );
    // 1_300 + 300 would be sliding; the family ends at 1_060 + 300.
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "rt-a2", "rt-a3", fixed, RefreshPins::default(), 1_361)
            .await
            .unwrap(),
        RefreshRedemption::Invalid
    ));
    assert!(matches!(
        store
            .rotate_refresh_token(
                t.id,
                "rt-a2",
                "rt-a3",
                fixed,
                RefreshPins {
                    audience: Some(ClientId::new_random()),
                    ..RefreshPins::default()
                },
                1_359
            )
            .await
            .unwrap(),
        RefreshRedemption::Rotated(_)
    ));
    assert_eq!(
        store
            .live_refresh_token(t.id, "rt-a3", 1_359)
            .await
            .unwrap()
            .and_then(|r| r.audience),
        Some(api),
        "a kept audience is never replaced"
    );
}

/// A session cannot be started for a user signed out everywhere or disabled since the sign-in
/// looked, and a grant cannot be made under an ended session: the write is refused, not left
/// live behind the sign-out.
pub(super) async fn sessions_and_grants_do_not_outlive_a_sign_out(store: Arc<dyn Store>) {
    let (t, user, app) = setup(store.as_ref()).await;
    let session = |id: SessionId| SessionRecord {
        id,
        secret_digest: format!("digest-{id}"),
        tenant_id: t.id,
        user_id: user.id,
        auth_time: 1_000,
        amr: "pwd".into(),
        expires_at: 100_000,
        persistent: false,
        second_factors: Vec::new(),
    };
    let first = session(SessionId::new_random());
    store.create_session(&first, 0).await.unwrap();
    // Sign out everywhere (a new password) at 1_100.
    store
        .set_password(t.id, user.id, "new-hash", 5, 1_100)
        .await
        .unwrap();
    let seen = store
        .user_signed_out_at(t.id, user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(seen >= 1_100);
    // A sign-in that looked before the sign-out cannot start its session...
    assert!(matches!(
        store
            .create_session(&session(SessionId::new_random()), 0)
            .await,
        Err(StoreError::SessionEnded)
    ));
    // ...nor can the ended session get a grant.
    let grant = GrantRecord {
        tenant_id: t.id,
        id: GrantId::new_random(),
        client_id: app.client_id,
        user_id: user.id,
        session_id: first.id,
        created_at: 1_200,
    };
    assert!(matches!(
        store.create_grant(&grant, None).await,
        Err(StoreError::SessionEnded)
    ));
    // A second sign-out in the same second is still a change a sign-in can see.
    store
        .set_password(t.id, user.id, "newer-hash", 5, seen)
        .await
        .unwrap();
    let again = store
        .user_signed_out_at(t.id, user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(again > seen, "{again} > {seen}");
    // A sign-in that saw the latest sign-out starts, and its session takes grants.
    let current = session(SessionId::new_random());
    store.create_session(&current, again).await.unwrap();
    store
        .create_grant(
            &GrantRecord {
                session_id: current.id,
                id: GrantId::new_random(),
                ..grant
            },
            None,
        )
        .await
        .unwrap();
    // A native sign-in stores its session and grant in one transaction: one that looked
    // before the sign-out leaves neither behind...
    let stale = session(SessionId::new_random());
    let stale_grant = GrantRecord {
        session_id: stale.id,
        id: GrantId::new_random(),
        ..grant.clone()
    };
    assert!(matches!(
        store
            .create_session_grant(&stale, seen, &stale_grant, None)
            .await,
        Err(StoreError::SessionEnded)
    ));
    assert!(
        store
            .find_session(t.id, &stale.secret_digest, 1_500)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.grant_is_active(t.id, stale_grant.id).await.unwrap());
    // ...and one that saw it stores both.
    store
        .create_session_grant(&stale, again, &stale_grant, None)
        .await
        .unwrap();
    assert!(
        store
            .find_session(t.id, &stale.secret_digest, 1_500)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.grant_is_active(t.id, stale_grant.id).await.unwrap());
    // A disabled user gets no session at all.
    store
        .set_user_enabled(t.id, user.id, false, 1_300)
        .await
        .unwrap();
    let now = store
        .user_signed_out_at(t.id, user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store
            .create_session(&session(SessionId::new_random()), now)
            .await,
        Err(StoreError::SessionEnded)
    ));
}
