//! Pushed authorization requests: taken once, only by their client, only in their tenant,
//! only before they expire.

use std::sync::Arc;

use portico_core::store::{PushedRequestRecord, Store};

use super::setup;
use crate::harness::join_all;

pub(super) async fn pushed_requests_are_taken_once_by_their_client(store: Arc<dyn Store>) {
    let (t, _, app) = setup(store.as_ref()).await;
    let (other, _, other_app) = setup(store.as_ref()).await;
    let record = PushedRequestRecord {
        tenant_id: t.id,
        digest: "par-digest".into(),
        client_id: app.client_id,
        params: "{\"scope\":\"openid\"}".into(),
        expires_at: 1_060,
    };
    store.create_pushed_request(&record).await.unwrap();
    let take = |tenant, client, now| {
        let store = Arc::clone(&store);
        async move {
            store
                .take_pushed_request(tenant, client, "par-digest", now)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        take(t.id, other_app.client_id, 1_000).await,
        None,
        "another client"
    );
    assert_eq!(
        take(other.id, app.client_id, 1_000).await,
        None,
        "another tenant"
    );
    assert_eq!(take(t.id, app.client_id, 1_060).await, None, "expired");
    let takers = join_all((0..4).map(|_| take(t.id, app.client_id, 1_010)).collect()).await;
    let won: Vec<_> = takers.into_iter().flatten().collect();
    assert_eq!(won, vec![record], "exactly one taker gets it");
    assert_eq!(take(t.id, app.client_id, 1_020).await, None, "spent");
}
