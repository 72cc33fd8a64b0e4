//! Device authorizations: user codes unique per tenant, polls counted one by one (too fast
//! ones slow the device), approval with its grant only while pending and the session lives,
//! one redemption, and nothing across tenants or clients.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::ids::{DeviceCodeId, GrantId, SessionId};
use portico_core::store::{
    DeviceApproval, DeviceCodeRecord, DeviceCodeState, DevicePoll, GrantRecord, SessionRecord,
    Store,
};

use super::setup;
use crate::harness::join_all;

pub(super) async fn device_codes_poll_approve_and_redeem_once(store: Arc<dyn Store>) {
    let (t, u, app) = setup(store.as_ref()).await;
    let (other, _, other_app) = setup(store.as_ref()).await;
    let record = DeviceCodeRecord {
        tenant_id: t.id,
        id: DeviceCodeId::new_random(),
        device_code_digest: "device-digest".into(),
        user_code: "BCDFGHJK".into(),
        client_id: app.client_id,
        scope: "openid".into(),
        created_at: 1_000,
        expires_at: 1_900,
        interval_secs: 5,
        last_poll_at: None,
        state: DeviceCodeState::Pending,
        approval: None,
    };
    store.create_device_code(&record).await.unwrap();
    // The same user code again in the tenant is a conflict (the caller draws another);
    // another tenant may have it.
    let twin = DeviceCodeRecord {
        id: DeviceCodeId::new_random(),
        device_code_digest: "other-digest".into(),
        ..record.clone()
    };
    assert!(matches!(
        store.create_device_code(&twin).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_device_code(&DeviceCodeRecord {
            tenant_id: other.id,
            client_id: other_app.client_id,
            ..twin.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .pending_device_code(t.id, "BCDFGHJK", 1_100)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(record.id)
    );
    assert!(
        store
            .pending_device_code(t.id, "BCDFGHJK", 1_900)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    // Polls: the first is in time; of parallel ones right after, every one is too fast and
    // each adds five seconds.
    let polled = |now| {
        let store = Arc::clone(&store);
        async move {
            match store
                .poll_device_code(t.id, app.client_id, "device-digest", now)
                .await
                .unwrap()
            {
                DevicePoll::Polled { record, too_fast } => (record.interval_secs, too_fast),
                DevicePoll::Unknown => panic!("unknown"),
            }
        }
    };
    assert_eq!(polled(1_100).await, (5, false));
    let burst = join_all((0..4).map(|_| polled(1_101)).collect()).await;
    assert!(burst.iter().all(|(_, too_fast)| *too_fast), "{burst:?}");
    let mut intervals: Vec<i64> = burst.iter().map(|(i, _)| *i).collect();
    intervals.sort_unstable();
    assert_eq!(intervals, vec![10, 15, 20, 25]);
    assert_eq!(polled(1_200).await, (25, false), "in time again");
    // Another client, or another tenant, polling the digest finds nothing and moves nothing.
    assert_eq!(
        store
            .poll_device_code(t.id, other_app.client_id, "device-digest", 1_201)
            .await
            .unwrap(),
        DevicePoll::Unknown
    );
    assert_eq!(
        store
            .poll_device_code(other.id, app.client_id, "device-digest", 1_201)
            .await
            .unwrap(),
        DevicePoll::Unknown
    );

    // Approval needs a live session and a pending, unexpired code; it records the grant.
    let session = SessionRecord {
        id: SessionId::new_random(),
        secret_digest: "device-session".into(),
        tenant_id: t.id,
        user_id: u.id,
        auth_time: 1_150,
        amr: "pwd".into(),
        expires_at: 100_000,
        persistent: false,
        second_factors: Vec::new(),
    };
    store.create_session(&session, 0).await.unwrap();
    let grant = GrantRecord {
        tenant_id: t.id,
        id: GrantId::new_random(),
        client_id: app.client_id,
        user_id: u.id,
        session_id: session.id,
        created_at: 1_300,
    };
    let approval = DeviceApproval {
        grant_id: grant.id,
        user_id: u.id,
        session_id: session.id,
        auth_time: 1_150,
        amr: "pwd".into(),
        extension_claims: Some(r#"{"id_token":{"loyalty":"gold"}}"#.into()),
    };
    assert!(
        !store
            .approve_device_code(t.id, record.id, &grant, &approval, 1_900)
            .await
            .unwrap(),
        "expired codes are not approved"
    );
    assert!(
        !store
            .approve_device_code(other.id, record.id, &grant, &approval, 1_300)
            .await
            .unwrap(),
        "nor another tenant's"
    );
    assert!(
        store
            .approve_device_code(t.id, record.id, &grant, &approval, 1_300)
            .await
            .unwrap()
    );
    assert!(store.grant_is_active(t.id, grant.id).await.unwrap());
    let approved = store.device_code(t.id, record.id).await.unwrap().unwrap();
    assert_eq!(approved.state, DeviceCodeState::Approved);
    assert_eq!(approved.approval, Some(approval.clone()));
    assert!(
        !store.deny_device_code(t.id, record.id).await.unwrap(),
        "decided"
    );
    // Of parallel redemptions, one wins.
    let wins = join_all(
        (0..4)
            .map(|_| {
                let store = Arc::clone(&store);
                async move { store.redeem_device_code(t.id, record.id).await.unwrap() }
            })
            .collect(),
    )
    .await;
    assert_eq!(wins.iter().filter(|won| **won).count(), 1);
    assert_eq!(
        store
            .device_code(t.id, record.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        DeviceCodeState::Redeemed
    );

    // Denial: only while pending. Approval with an ended session writes nothing.
    let pending = DeviceCodeRecord {
        id: DeviceCodeId::new_random(),
        device_code_digest: "third-digest".into(),
        user_code: "CDFGHJKL".into(),
        ..record.clone()
    };
    store.create_device_code(&pending).await.unwrap();
    store.end_session(t.id, session.id, 1_400).await.unwrap();
    let late_grant = GrantRecord {
        id: GrantId::new_random(),
        ..grant.clone()
    };
    assert!(matches!(
        store
            .approve_device_code(t.id, pending.id, &late_grant, &approval, 1_500)
            .await,
        Err(StoreError::SessionEnded)
    ));
    assert_eq!(
        store
            .device_code(t.id, pending.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        DeviceCodeState::Pending,
        "nothing of the approval stayed"
    );
    assert!(store.deny_device_code(t.id, pending.id).await.unwrap());
    assert!(!store.deny_device_code(t.id, pending.id).await.unwrap());
}
