//! Tenants, apps, user flows, users and their lockouts and passwords.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::{
    AttributeSpec, MfaPolicy, SignInMethod, Tenant, TenantRef, User, UserFlow,
};
use portico_core::ids::TenantId;
use portico_core::ids::UserFlowId;
use portico_core::store::{CodeRedemption, LockoutRecord, Store};

use super::*;
use crate::harness::join_all;

pub(super) async fn directory_and_isolation(store: Arc<dyn Store>) {
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

pub(super) async fn user_flows_and_app_attachment(store: Arc<dyn Store>) {
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

pub(super) async fn lockout_compare_and_swap(store: Arc<dyn Store>) {
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
        assert_eq!(
            (stored.failures, stored.version, stored.updated_at),
            (1, 1, 1_000),
            "the save time is kept: core empties a record left idle"
        );
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
    // An idle decoy record goes an hour after core treats it as empty (a day idle); an
    // account's stays (core treats it as empty too).
    let purged_at = 1_001 + portico_core::lockout::IDLE_SECS + 3600;
    store.purge_expired(purged_at).await.unwrap();
    let decoy = store
        .lockout(t.id, LockoutSubject::Decoy("decoy-key"))
        .await
        .unwrap();
    assert_eq!(decoy.version, 2, "not a moment early");
    store.purge_expired(purged_at + 1).await.unwrap();
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

/// Password resets of many users at once, on every connection of the pool: each is a
/// transaction that reads before it writes, which on SQLite must take the write lock up front
/// (`BEGIN IMMEDIATE`) or fail with `SQLITE_BUSY` when another writer got in between.
pub(super) async fn concurrent_resets_never_busy(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let mut users = Vec::new();
    for i in 0..16 {
        let u = User {
            password_hash: Some("old".into()),
            password_in_legacy_store: false,
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
