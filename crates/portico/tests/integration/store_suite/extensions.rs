//! Extensions: registered with their apps and resource app in one transaction, read back
//! whole, isolated by tenant; deleting an app detaches it; the call log is read newest first.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::extensions::{Extension, ExtensionCall, ExtensionEvent};
use portico_core::ids::ClientId;
use portico_core::store::Store;

use super::setup;

fn extension(tenant: portico_core::ids::TenantId, name: &str, apps: Vec<ClientId>) -> Extension {
    Extension {
        tenant_id: tenant,
        id: uuid::Uuid::new_v4().to_string(),
        name: name.into(),
        event: ExtensionEvent::TokenIssuanceStart,
        target_url: "https://claims.example/x".into(),
        resource_app_id: uuid::Uuid::new_v4().to_string(),
        timeout_ms: 1000,
        retries: 1,
        claims: vec!["loyaltyTier".into()],
        fallback: false,
        all_apps: apps.is_empty(),
        encryption_key: None,
        apps,
        created_at: 1_000,
    }
}

fn call(extension: &Extension, at: i64, outcome: &str) -> ExtensionCall {
    ExtensionCall {
        tenant_id: extension.tenant_id,
        extension_id: extension.id.clone(),
        event: extension.event,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        client_id: extension.apps.first().copied(),
        at,
        outcome: outcome.into(),
        error_code: (outcome != "ok").then_some(1_003_005),
        detail: (outcome != "ok").then(|| "the extension did not answer in time".into()),
        latency_ms: 12,
        attempts: 2,
    }
}

pub(super) async fn extensions_within_their_tenant(store: Arc<dyn Store>) {
    let (t, _, app) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let mut resource = app.clone();
    resource.client_id = ClientId::new_random();
    resource.identifier_uri = None;
    resource.name = "loyalty (extension API)".into();
    let mut first = extension(t.id, "loyalty", vec![app.client_id]);
    first.resource_app_id = resource.client_id.to_string();
    store
        .create_extension(&first, Some(&resource))
        .await
        .unwrap();
    assert!(
        store
            .find_application(t.id, resource.client_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.extensions(t.id).await.unwrap(), vec![first.clone()]);
    assert!(store.extensions(other.id).await.unwrap().is_empty());

    // A second with the same name: nothing of it is written, not even its resource app.
    let mut again = extension(t.id, "loyalty", Vec::new());
    let mut second_resource = resource.clone();
    second_resource.client_id = ClientId::new_random();
    again.resource_app_id = second_resource.client_id.to_string();
    assert!(matches!(
        store.create_extension(&again, Some(&second_resource)).await,
        Err(StoreError::Conflict("extension"))
    ));
    assert!(
        store
            .find_application(t.id, second_resource.client_id)
            .await
            .unwrap()
            .is_none()
    );
    // Another tenant may use the name.
    store
        .create_extension(&extension(other.id, "loyalty", Vec::new()), None)
        .await
        .unwrap();

    // The log, newest first, per tenant.
    for (at, outcome) in [(2_000, "ok"), (3_000, "timeout"), (4_000, "ok")] {
        store
            .record_extension_call(&call(&first, at, outcome))
            .await
            .unwrap();
    }
    let calls = store.extension_calls(t.id, 2_500, 10).await.unwrap();
    assert_eq!(
        calls.iter().map(|c| c.at).collect::<Vec<_>>(),
        vec![4_000, 3_000]
    );
    assert_eq!(
        calls[1],
        call(&first, 3_000, "timeout").with_id_of(&calls[1])
    );
    assert!(
        store
            .extension_calls(other.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.extension_calls(t.id, 0, 1).await.unwrap().len(), 1);

    // Deleting the app detaches it, and the extension serves no app (never every app);
    // deleting the extension is per tenant.
    assert!(store.delete_application(t.id, app.client_id).await.unwrap());
    let detached = &store.extensions(t.id).await.unwrap()[0];
    assert!(detached.apps.is_empty() && !detached.all_apps);
    assert!(!detached.applies_to(app.client_id));
    assert!(!store.delete_extension(other.id, &first.id).await.unwrap());
    assert!(store.delete_extension(t.id, &first.id).await.unwrap());
    assert!(store.extensions(t.id).await.unwrap().is_empty());
}

trait SameCall {
    fn with_id_of(self, other: &ExtensionCall) -> ExtensionCall;
}

impl SameCall for ExtensionCall {
    /// The call with the other's correlation id (each `call` makes a new one).
    fn with_id_of(mut self, other: &ExtensionCall) -> ExtensionCall {
        self.correlation_id = other.correlation_id.clone();
        self
    }
}
