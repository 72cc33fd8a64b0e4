//! The one storage interface. Backends (SQLite, PostgreSQL) live in `portico-store`; nothing
//! else knows SQL.
//!
//! Invariants every backend keeps:
//! - every method that reads or writes tenant data takes the tenant id and filters by it;
//! - every method is atomic: a multi-row write is one transaction;
//! - single-use things (codes, refresh tokens) are consumed with a conditional update, so two
//!   concurrent redemptions cannot both succeed.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;

mod admin_tokens;
mod apps;
mod device_codes;
mod extensions;
mod factors;
mod flows;
mod grants;
mod otp;
mod outbox;
mod passkeys;
mod permissions;
mod pushed_requests;
mod registrations;
mod scim_groups;
mod scim_tokens;
mod scim_users;
mod sessions;
mod tenants;
mod users;

pub use admin_tokens::*;
pub use apps::*;
pub use device_codes::*;
pub use extensions::*;
pub use factors::*;
pub use flows::*;
pub use grants::*;
pub use otp::*;
pub use outbox::*;
pub use passkeys::*;
pub use permissions::*;
pub use pushed_requests::*;
pub use registrations::*;
pub use scim_groups::*;
pub use scim_tokens::*;
pub use scim_users::*;
pub use sessions::*;
pub use tenants::*;
pub use users::*;

/// Storage for everything Portico keeps: one trait per area, each in its own module. On
/// `dyn Store` the methods of every part are callable as they are (no import needed).
#[async_trait]
pub trait Store:
    TenantStore
    + AppStore
    + UserStore
    + FactorStore
    + FlowStore
    + SessionStore
    + GrantStore
    + OtpStore
    + OutboxStore
    + AdminTokenStore
    + PermissionStore
    + DeviceCodeStore
    + PushedRequestStore
    + RegistrationStore
    + ScimTokenStore
    + ScimUserStore
    + GroupStore
    + ExtensionStore
    + PasskeyStore
    + std::fmt::Debug
    + 'static
{
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Deletes spent or expired codes, refresh tokens and sessions, and grants with nothing left
    /// to revoke. Returns how many rows went.
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError>;
}
