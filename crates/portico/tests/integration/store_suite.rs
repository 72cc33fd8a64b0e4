//! The store contract, run against SQLite and PostgreSQL alike.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::{
    AppKind, Application, AttributeSpec, MfaMethod, MfaPolicy, SignInMethod, Tenant, TenantRef,
    User, UserFlow,
};
use portico_core::ids::OtpChallengeId;
use portico_core::ids::UserFlowId;
use portico_core::ids::{ClientId, GrantId, SessionId, TenantId, UserId};
use portico_core::otp::OtpPurpose;
use portico_core::outbox::{Channel, OutboundMessage};
use portico_core::store::OtpChallengeRecord;
use portico_core::store::{
    AuthCodeRecord, CodeRedemption, GrantRecord, KeyState, LockoutRecord, RefreshLifetime,
    RefreshRedemption, RefreshTokenRecord, SessionRecord, Store, StoredSigningKey,
};
use portico_keys::SigningAlgorithm;

use crate::harness::{Backend, fresh_store, join_all};

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId::new_random(),
        name: name.to_owned(),
        signing_alg: SigningAlgorithm::Rs256,
        created_at: 1_000,
    }
}

fn key(tenant: TenantId, kid: &str, state: KeyState) -> StoredSigningKey {
    StoredSigningKey {
        tenant_id: tenant,
        kid: kid.to_owned(),
        alg: SigningAlgorithm::Rs256,
        state,
        public_jwk: "{}".to_owned(),
        sealed_private: vec![1, 2, 3],
        created_at: 1_000,
        publish_until: None,
    }
}

fn user(tenant: TenantId, email: &str) -> User {
    User {
        id: UserId::new_random(),
        tenant_id: tenant,
        email: email.to_owned(),
        display_name: None,
        password_hash: None,
        enabled: true,
        attributes: Default::default(),
        created_at: 1_000,
    }
}

async fn setup(store: &dyn Store) -> (Tenant, User, Application) {
    let t = tenant(&format!("t{}", uuid::Uuid::new_v4().simple()));
    store
        .create_tenant(
            &t,
            &[
                key(t.id, "k1", KeyState::Current),
                key(t.id, "k2", KeyState::Next),
            ],
            &UserFlow::default_for(t.id, 1_000),
        )
        .await
        .unwrap();
    let u = user(t.id, "a@example.com");
    store.create_user(&u).await.unwrap();
    let app = Application {
        client_id: ClientId::new_random(),
        tenant_id: t.id,
        name: "app".into(),
        kind: AppKind::Spa,
        secret_digest: None,
        redirect_uris: vec!["https://app.example/cb".into()],
        identifier_uri: Some("api://orders".into()),
        optional_claims: vec!["loyaltyNumber".into()],
        native_auth: true,
        cors_origins: vec!["https://app.example".into()],
        created_at: 1_000,
    };
    store.create_application(&app).await.unwrap();
    (t, u, app)
}

fn code(t: &Tenant, u: &User, app: &Application, digest: &str) -> AuthCodeRecord {
    AuthCodeRecord {
        code_digest: digest.to_owned(),
        tenant_id: t.id,
        client_id: app.client_id,
        user_id: u.id,
        grant_id: GrantId::new_random(),
        session_id: SessionId::new_random(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        auth_time: 1_000,
        amr: "pwd".into(),
        expires_at: 1_060,
    }
}

/// A code issued under a live session of `u` (codes and grants need one).
async fn issue_code(
    store: &dyn Store,
    t: &Tenant,
    u: &User,
    app: &Application,
    digest: &str,
) -> AuthCodeRecord {
    let session = SessionRecord {
        id: SessionId::new_random(),
        secret_digest: format!("session-of-{digest}"),
        tenant_id: t.id,
        user_id: u.id,
        auth_time: 1_000,
        amr: "pwd".into(),
        expires_at: 100_000,
        persistent: false,
        second_factors: Vec::new(),
    };
    store.create_session(&session, 0).await.unwrap();
    let c = AuthCodeRecord {
        session_id: session.id,
        ..code(t, u, app, digest)
    };
    store.create_authorization_code(&c).await.unwrap();
    c
}

async fn directory_and_isolation(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let by_name = store
        .find_tenant(&TenantRef::Name(t.name.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, t.id);
    assert!(
        store
            .find_tenant(&TenantRef::Id(t.id))
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store
            .create_tenant(
                &Tenant {
                    id: TenantId::new_random(),
                    ..t.clone()
                },
                &[],
                &UserFlow::default_for(TenantId::new_random(), 1_000),
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_user(&user(t.id, "a@example.com")).await,
        Err(StoreError::Conflict(_))
    ));
    let found = store
        .find_application(t.id, app.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.redirect_uris, app.redirect_uris);
    assert_eq!(found.optional_claims, app.optional_claims);
    assert!(found.native_auth);
    assert_eq!(found.cors_origins, app.cors_origins);
    assert!(
        store
            .find_application_by_identifier_uri(t.id, "api://orders")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_user_by_email(t.id, "a@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );

    // Another tenant sees none of it.
    let (other, _, _) = setup(store.as_ref()).await;
    assert!(
        store
            .find_application(other.id, app.client_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_application_by_identifier_uri(other.id, "api://orders")
            .await
            .unwrap()
            .is_some_and(|a| a.tenant_id == other.id)
    );
    assert!(store.find_user(other.id, u.id).await.unwrap().is_none());
    let c = issue_code(store.as_ref(), &t, &u, &app, "code-iso").await;
    assert!(matches!(
        store
            .redeem_authorization_code(other.id, "code-iso", 1_001)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
    assert!(!store.grant_is_active(other.id, c.grant_id).await.unwrap());
    assert!(store.grant_is_active(t.id, c.grant_id).await.unwrap());
}

async fn codes_redeem_exactly_once(store: Arc<dyn Store>) {
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
}

/// Lifetimes that leave the rotation tests' tokens alive (grants start at 1_060 there).
const LONG: RefreshLifetime = RefreshLifetime {
    idle_secs: 8_500,
    absolute_secs: 100_000,
};

async fn refresh_rotation_and_reuse(store: Arc<dyn Store>) {
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
        })
        .await
        .unwrap();
    let attempts = (0..6)
        .map(|i| {
            let store = Arc::clone(&store);
            async move {
                store
                    .rotate_refresh_token(t.id, "rt-1", &format!("rt-2-{i}"), LONG, 1_010)
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
    assert!(results.iter().all(|r| matches!(
        r,
        Ok(RefreshRedemption::Rotated(_) | RefreshRedemption::Reused(_))
    )));
    assert!(
        matches!(store.rotate_refresh_token(t.id, "rt-1", "rt-x", LONG, 1_020).await.unwrap(), RefreshRedemption::Reused(g) if g == c.grant_id)
    );
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "nope", "rt-y", LONG, 1_020)
            .await
            .unwrap(),
        RefreshRedemption::Invalid
    ));
    store.revoke_grant(t.id, c.grant_id, 1_030).await.unwrap();
    assert!(!store.grant_is_active(t.id, c.grant_id).await.unwrap());
    // A revoked grant's surviving token is dead too.
    for i in 0..6 {
        let r = store
            .rotate_refresh_token(t.id, &format!("rt-2-{i}"), "rt-z", LONG, 1_040)
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
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "rt-old", "rt-new", LONG, 1_200)
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
        })
        .await
        .unwrap();
    let fixed = RefreshLifetime {
        idle_secs: 300,
        absolute_secs: 300,
    };
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "rt-a1", "rt-a2", fixed, 1_300)
            .await
            .unwrap(),
        RefreshRedemption::Rotated(_)
    ));
    // 1_300 + 300 would be sliding; the family ends at 1_060 + 300.
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "rt-a2", "rt-a3", fixed, 1_361)
            .await
            .unwrap(),
        RefreshRedemption::Invalid
    ));
    assert!(matches!(
        store
            .rotate_refresh_token(t.id, "rt-a2", "rt-a3", fixed, 1_359)
            .await
            .unwrap(),
        RefreshRedemption::Rotated(_)
    ));
}

async fn lockout_compare_and_swap(store: Arc<dyn Store>) {
    use portico_core::store::LockoutSubject;
    let (t, u, _) = setup(store.as_ref()).await;
    // Accounts and decoys (addresses without one) keep the same kind of record.
    for subject in [
        LockoutSubject::User(u.id),
        LockoutSubject::Decoy("decoy-key"),
    ] {
        let empty = store.lockout(t.id, subject).await.unwrap();
        assert_eq!(empty, LockoutRecord::default());
        let first = LockoutRecord {
            failures: 1,
            recent_fingerprints: vec!["a".into()],
            ..empty.clone()
        };
        store
            .save_lockout(t.id, subject, &first, 1_000)
            .await
            .unwrap();
        assert!(
            matches!(
                store.save_lockout(t.id, subject, &first, 1_000).await,
                Err(StoreError::Contended)
            ),
            "stale version"
        );
        let stored = store.lockout(t.id, subject).await.unwrap();
        assert_eq!((stored.failures, stored.version), (1, 1));
        let second = LockoutRecord {
            failures: 2,
            ..stored.clone()
        };
        let racers = (0..5)
            .map(|_| store.save_lockout(t.id, subject, &second, 1_001))
            .collect();
        let results = join_all(racers).await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "one writer per version"
        );
    }
    let (other, _, _) = setup(store.as_ref()).await;
    assert_eq!(
        store
            .lockout(other.id, LockoutSubject::Decoy("decoy-key"))
            .await
            .unwrap(),
        LockoutRecord::default(),
        "tenant isolation"
    );
    // An idle decoy record goes after a day; an account's stays.
    store.purge_expired(1_001 + 24 * 3600 + 1).await.unwrap();
    assert_eq!(
        store
            .lockout(t.id, LockoutSubject::Decoy("decoy-key"))
            .await
            .unwrap()
            .version,
        0
    );
    assert_eq!(
        store
            .lockout(t.id, LockoutSubject::User(u.id))
            .await
            .unwrap()
            .version,
        2
    );
}

async fn sessions_and_key_rotation(store: Arc<dyn Store>) {
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

fn challenge(t: &Tenant, subject: &str, created_at: i64) -> OtpChallengeRecord {
    OtpChallengeRecord {
        id: OtpChallengeId::new_random(),
        tenant_id: t.id,
        purpose: OtpPurpose::SignIn,
        subject: subject.to_owned(),
        code_digest: "digest".into(),
        requester: "r1".into(),
        created_at,
        expires_at: created_at + 600,
    }
}

/// One seal for the suite's messages (the worker's key in real life).
fn seal() -> &'static portico_core::outbox::OutboxSeal {
    static SEAL: std::sync::OnceLock<portico_core::outbox::OutboxSeal> = std::sync::OnceLock::new();
    SEAL.get_or_init(|| {
        let (master, _) = portico_keys::MasterKey::generate().unwrap();
        portico_core::outbox::OutboxSeal::new(Arc::new(master))
    })
}

fn mail(to: &str, t: &Tenant, now: i64) -> portico_core::outbox::OutboxRecord {
    let message = OutboundMessage {
        channel: Channel::Mail,
        to: to.to_owned(),
        subject: "Your code".into(),
        text: "12345678".into(),
        html: None,
    };
    seal()
        .seal(&message, Some(t.id), now, now + 10_000)
        .unwrap()
}

async fn otp_challenges_and_outbox(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let first = challenge(&t, "a@example.com", 1_000);
    store
        .create_otp_challenge(&first, &mail("a@example.com", &t, 1_000), None)
        .await
        .unwrap()
        .unwrap();
    let second = challenge(&t, "a@example.com", 1_040);
    store
        .create_otp_challenge(&second, &mail("a@example.com", &t, 1_040), None)
        .await
        .unwrap()
        .unwrap();
    let stats = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r1", 900, 1_050)
        .await
        .unwrap();
    assert_eq!(
        (
            stats.sent_last_hour,
            stats.last_sent_at,
            stats.oldest_in_hour,
            stats.sent_by_requester,
            stats.oldest_by_requester,
        ),
        (2, Some(1_040), Some(1_000), 2, Some(1_000))
    );
    // The newest is the live one (the first was spent when the second was issued).
    assert_eq!(
        stats.live.map(|l| (l.id, l.attempts, l.requester)),
        Some((second.id, 0, "r1".to_owned()))
    );
    let theirs = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r2", 900, 1_050)
        .await
        .unwrap();
    assert_eq!(
        (
            theirs.sent_last_hour,
            theirs.sent_by_requester,
            theirs.oldest_by_requester
        ),
        (2, 0, None)
    );
    // Once expired, no code is live.
    let later = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r1", 900, 1_700)
        .await
        .unwrap();
    assert_eq!(later.live, None);
    assert!(
        store
            .attempt_otp(t.id, first.id, 1_050)
            .await
            .unwrap()
            .is_none(),
        "a new code replaces the old"
    );
    let (other, _, _) = setup(store.as_ref()).await;
    assert!(
        store
            .attempt_otp(other.id, second.id, 1_050)
            .await
            .unwrap()
            .is_none(),
        "tenant isolation"
    );
    let tries = (0..6)
        .map(|_| store.attempt_otp(t.id, second.id, 1_050))
        .collect();
    let mut counts: Vec<u32> = join_all(tries)
        .await
        .into_iter()
        .map(|a| a.unwrap().unwrap().attempts)
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        vec![1, 2, 3, 4, 5, 6],
        "every try is counted exactly once"
    );
    assert!(store.consume_otp(t.id, second.id, 1_060).await.unwrap());
    assert!(
        !store.consume_otp(t.id, second.id, 1_061).await.unwrap(),
        "spent once"
    );
    assert!(
        store
            .attempt_otp(t.id, second.id, 1_062)
            .await
            .unwrap()
            .is_none()
    );

    // Outbox: both messages are due; parallel claimers split them without overlap.
    let claims = (0..4)
        .map(|_| store.claim_outbox(2_000, 2_060, 10))
        .collect();
    let claimed: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .flat_map(|c| c.unwrap())
        .collect();
    let mine: Vec<_> = claimed
        .iter()
        .filter(|m| m.tenant_id == Some(t.id))
        .collect();
    assert_eq!(mine.len(), 2, "{claimed:?}");
    assert!(
        mine.iter()
            .all(|m| m.attempts == 1 && m.channel == Channel::Mail)
    );
    assert!(
        store
            .claim_outbox(2_010, 2_070, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.tenant_id != Some(t.id)),
        "leased"
    );
    store.outbox_delivered(mine[0].id, 2_020).await.unwrap();
    store
        .outbox_failed(mine[1].id, Some(3_000), "smtp down")
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox(2_100, 2_160, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.tenant_id != Some(t.id))
    );
    let retried = store.claim_outbox(3_000, 3_060, 10).await.unwrap();
    let retried: Vec<_> = retried
        .iter()
        .filter(|m| m.tenant_id == Some(t.id))
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (mine[1].id, 2));
    assert_eq!(seal().open(retried[0]).unwrap().text, "12345678");
    // Past its usefulness (its code expired), a message is not sent.
    let stale = mail("stale@example.com", &t, 3_000);
    store.enqueue_message(&stale).await.unwrap();
    assert!(
        store
            .claim_outbox(13_001, 13_060, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != stale.id),
        "discarded"
    );

    // What a code page asks: did the newest message to this address fail and wait for a retry?
    let late = mail("late@example.com", &t, 4_000);
    store.enqueue_message(&late).await.unwrap();
    let delayed = |tenant: TenantId| {
        let store = Arc::clone(&store);
        async move {
            store
                .delivery_delayed(tenant, "late@example.com")
                .await
                .unwrap()
        }
    };
    assert!(!delayed(t.id).await, "queued, not failed");
    store
        .outbox_failed(late.id, Some(4_010), "smtp down")
        .await
        .unwrap();
    assert!(delayed(t.id).await);
    assert!(!delayed(other.id).await, "tenant isolation");
    store.outbox_delivered(late.id, 4_020).await.unwrap();
    assert!(!delayed(t.id).await, "delivered at last");
}

async fn user_flows_and_app_attachment(store: Arc<dyn Store>) {
    let (t, _, app) = setup(store.as_ref()).await;
    let flows = store.user_flows(t.id).await.unwrap();
    assert_eq!(flows.len(), 1);
    assert!(flows[0].is_default && flows[0].config.sign_up && flows[0].apps.is_empty());
    assert_eq!(
        flows[0].config.methods,
        vec![SignInMethod::Password, SignInMethod::EmailOtp]
    );
    let custom = |name: &str| UserFlow {
        id: UserFlowId::new_random(),
        name: name.to_owned(),
        is_default: false,
        config: portico_core::directory::UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            attributes: vec![AttributeSpec::parse_cli("loyalty:int:required").unwrap()],
            mfa: MfaPolicy::Required,
            ..Default::default()
        },
        apps: vec![app.client_id],
        ..UserFlow::default_for(t.id, 2_000)
    };
    let first = custom("otp-only");
    store.create_user_flow(&first).await.unwrap();
    let second = custom("moved");
    store.create_user_flow(&second).await.unwrap();
    let flows = store.user_flows(t.id).await.unwrap();
    assert_eq!(flows.len(), 3);
    let by_name = |n: &str| flows.iter().find(|f| f.name == n).unwrap().clone();
    assert!(
        by_name("otp-only").apps.is_empty(),
        "an app serves one flow: it moved"
    );
    assert_eq!(by_name("moved").apps, vec![app.client_id]);
    assert_eq!(by_name("moved").config, first.config);
    assert!(matches!(
        store.create_user_flow(&custom("moved")).await,
        Err(StoreError::Conflict(_))
    ));
    let (other, _, _) = setup(store.as_ref()).await;
    assert_eq!(
        store.user_flows(other.id).await.unwrap().len(),
        1,
        "tenant isolation"
    );
}

async fn engine_state(store: Arc<dyn Store>) {
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

/// A new password or a disabled account ends every session of the user and revokes every
/// grant, and touches no one else's.
async fn signing_out_everywhere(store: Arc<dyn Store>) {
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

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, guard) = super::fresh_store(super::Backend::Sqlite).await.unwrap();
                    super::$name(store).await;
                    guard.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((store, guard)) = super::fresh_store(super::Backend::Postgres).await else { return };
                    super::$name(store).await;
                    guard.cleanup().await;
                }
            )*
        }
    };
}

async fn second_factor_failures_per_user(store: Arc<dyn Store>) {
    let (t, u, _) = setup(store.as_ref()).await;
    let (other_tenant, other_user, _) = setup(store.as_ref()).await;
    for at in [1_000, 1_010, 1_020, 1_030] {
        store
            .add_second_factor_failure(t.id, u.id, &format!("a{at}"), at)
            .await
            .unwrap();
    }
    store
        .add_second_factor_failure(other_tenant.id, other_user.id, "a1030", 1_030)
        .await
        .unwrap();
    // An attempt whose code was right is taken back, in its tenant only.
    store
        .withdraw_second_factor_failure(other_tenant.id, "a1020")
        .await
        .unwrap();
    store
        .withdraw_second_factor_failure(t.id, "a1030")
        .await
        .unwrap();
    assert_eq!(
        store
            .second_factor_failures(t.id, u.id, 900, "")
            .await
            .unwrap(),
        (3, Some(1_020))
    );
    assert_eq!(
        store
            .second_factor_failures(t.id, u.id, 900, "a1020")
            .await
            .unwrap(),
        (2, Some(1_010)),
        "all but the try being made"
    );
    assert_eq!(
        store
            .second_factor_failures(t.id, u.id, 1_005, "")
            .await
            .unwrap(),
        (2, Some(1_020))
    );
    // Another tenant's user, and this user in another tenant, count on their own.
    assert_eq!(
        store
            .second_factor_failures(other_tenant.id, u.id, 900, "")
            .await
            .unwrap(),
        (0, None)
    );
    store.purge_expired(1_020 + 24 * 3600 + 1).await.unwrap();
    assert_eq!(
        store
            .second_factor_failures(t.id, u.id, 0, "")
            .await
            .unwrap(),
        (0, None)
    );
}

/// Admin tokens: valid until revoked or expired, listed without secrets, global (not per
/// tenant).
async fn admin_token_lifecycle(store: Arc<dyn Store>) {
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

/// Queues a text to `number` at `at` against `budget`.
async fn text(
    store: &dyn Store,
    t: &Tenant,
    number: &str,
    at: i64,
    budget: &portico_core::store::SmsBudget,
) -> Result<(), portico_core::store::TextRefused> {
    let message = OutboundMessage {
        channel: Channel::Sms,
        to: number.to_owned(),
        subject: String::new(),
        text: "code".into(),
        html: None,
    };
    let message = seal().seal(&message, Some(t.id), at, 10_000).unwrap();
    store
        .create_otp_challenge(&challenge(t, number, at), &message, Some(budget))
        .await
        .unwrap()
}

/// Texts queued at once cannot exceed any of their limits (the tenant's budget, the share of
/// new numbers, one number's texts, one user's new numbers): the counts and the insert are
/// one transaction, serialised per tenant on both backends.
async fn sms_limits_hold_under_parallel_texts(store: Arc<dyn Store>) {
    use portico_core::store::{NumberRegistration, SmsBudget, TextRefused};
    let (t, user, _) = setup(store.as_ref()).await;
    let budget = SmsBudget {
        since: 500,
        texts: 6,
        new_numbers: 2,
        to_new_number: false,
        per_number: 2,
        registers: None,
    };
    let parallel = |texts: Vec<(String, SmsBudget)>| {
        let sends = texts
            .into_iter()
            .enumerate()
            .map(|(n, (number, budget))| {
                let store = Arc::clone(&store);
                let t = t.clone();
                async move { text(store.as_ref(), &t, &number, 1_000 + n as i64, &budget).await }
            })
            .collect();
        join_all(sends)
    };
    let count = |results: &[Result<(), TextRefused>], outcome: Result<(), TextRefused>| {
        results.iter().filter(|r| **r == outcome).count()
    };
    // One user registering numbers: two new numbers at most, and the share of new numbers
    // is two texts.
    let registering = SmsBudget {
        to_new_number: true,
        registers: Some(NumberRegistration {
            user: user.id,
            since: 500,
            numbers: 2,
        }),
        ..budget
    };
    let results = parallel(
        (0..8)
            .map(|n| (format!("+155502000{n}"), registering))
            .collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    // Texts to new numbers of other users: the share is spent.
    let unknown = SmsBudget {
        to_new_number: true,
        ..budget
    };
    let results = parallel(
        (0..4)
            .map(|n| (format!("+155502100{n}"), unknown))
            .collect(),
    )
    .await;
    assert_eq!(
        count(&results, Err(TextRefused::NewNumbers)),
        4,
        "{results:?}"
    );
    // One number: two texts an hour, whatever they are for.
    let results = parallel(
        (0..5)
            .map(|_| ("+15550220000".to_owned(), budget))
            .collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    assert_eq!(count(&results, Err(TextRefused::Number)), 3, "{results:?}");
    // Known numbers take the rest of the tenant's six, and no more.
    let results = parallel((0..6).map(|n| (format!("+155502300{n}"), budget)).collect()).await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    assert_eq!(
        count(&results, Err(TextRefused::TenantBudget)),
        4,
        "{results:?}"
    );
    assert_eq!(store.sms_sent_since(t.id, 500).await.unwrap(), 6);
    // Another tenant's budget is its own.
    let (other, _, _) = setup(store.as_ref()).await;
    assert_eq!(
        text(store.as_ref(), &other, "+15550300000", 1_000, &budget).await,
        Ok(())
    );
}

/// A session cannot be started for a user signed out everywhere or disabled since the sign-in
/// looked, and a grant cannot be made under an ended session: the write is refused, not left
/// live behind the sign-out.
async fn sessions_and_grants_do_not_outlive_a_sign_out(store: Arc<dyn Store>) {
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

/// Password resets of many users at once, on every connection of the pool: each is a
/// transaction that reads before it writes, which on SQLite must take the write lock up front
/// (`BEGIN IMMEDIATE`) or fail with `SQLITE_BUSY` when another writer got in between.
async fn concurrent_resets_never_busy(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let mut users = Vec::new();
    for i in 0..16 {
        let u = User {
            password_hash: Some("old".into()),
            ..user(t.id, &format!("reset{i}@example.com"))
        };
        store.create_user(&u).await.unwrap();
        users.push(u);
    }
    for round in 0..3 {
        let results = join_all(
            users
                .iter()
                .map(|u| {
                    let store = Arc::clone(&store);
                    let (tenant, id) = (t.id, u.id);
                    async move {
                        store
                            .set_password(tenant, id, &format!("h{round}"), 5, 2_000 + round)
                            .await
                    }
                })
                .collect(),
        )
        .await;
        for result in results {
            result.unwrap();
        }
    }
    for u in &users {
        let found = store.find_user(t.id, u.id).await.unwrap().unwrap();
        assert_eq!(found.password_hash.as_deref(), Some("h2"));
        assert_eq!(
            store.password_history(t.id, u.id).await.unwrap(),
            vec!["h1", "h0", "old"]
        );
    }
}

on_both_backends!(
    sms_limits_hold_under_parallel_texts,
    sessions_and_grants_do_not_outlive_a_sign_out,
    admin_token_lifecycle,
    concurrent_resets_never_busy,
    directory_and_isolation,
    second_factor_failures_per_user,
    codes_redeem_exactly_once,
    refresh_rotation_and_reuse,
    lockout_compare_and_swap,
    sessions_and_key_rotation,
    otp_challenges_and_outbox,
    user_flows_and_app_attachment,
    engine_state,
    signing_out_everywhere,
);
