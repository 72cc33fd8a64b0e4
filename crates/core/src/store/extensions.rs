//! Custom authentication extensions, the apps they are attached to, and the log of calls.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::Application;
use crate::extensions::{Extension, ExtensionCall};
use crate::ids::TenantId;

/// Storage of extensions (part of [`super::Store`]).
#[async_trait]
pub trait ExtensionStore: Send + Sync {
    /// Records an extension and its apps, with the resource app registered for it (when
    /// Portico registers one), in one transaction. `Conflict` if the tenant has an extension
    /// of that name.
    async fn create_extension(
        &self,
        extension: &Extension,
        resource_app: Option<&Application>,
    ) -> Result<(), StoreError>;
    /// The tenant's extensions with their apps, oldest first.
    async fn extensions(&self, tenant: TenantId) -> Result<Vec<Extension>, StoreError>;
    /// Deletes an extension; false if the tenant has none with this id. A resource app
    /// registered for it stays (other receivers may trust it).
    async fn delete_extension(&self, tenant: TenantId, id: &str) -> Result<bool, StoreError>;
    /// Records one call (its attempts, outcome and latency).
    async fn record_extension_call(&self, call: &ExtensionCall) -> Result<(), StoreError>;
    /// The tenant's calls since `since`, newest first, at most `limit`.
    async fn extension_calls(
        &self,
        tenant: TenantId,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<ExtensionCall>, StoreError>;
}
