//! Second factors: a user's wrong codes.

use std::sync::Arc;

use portico_core::store::Store;

use super::*;

pub(super) async fn second_factor_failures_per_user(store: Arc<dyn Store>) {
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
