//! The store contract, run against SQLite and PostgreSQL alike.

mod admin_tokens;
mod apps;
mod device_codes;
mod directory;
mod extensions;
mod factors;
mod flows;
mod grants;
mod groups;
mod otp;
mod passkeys;
mod permissions;
mod pushed_requests;
mod registrations;
mod scim_users;
mod sessions;

use std::sync::Arc;

use portico_core::directory::{AppKind, Application, Tenant, User, UserFlow};
use portico_core::ids::OtpChallengeId;
use portico_core::ids::{ClientId, GrantId, SessionId, TenantId, UserId};
use portico_core::otp::OtpPurpose;
use portico_core::outbox::{Channel, OutboundMessage};
use portico_core::store::OtpChallengeRecord;
use portico_core::store::{AuthCodeRecord, KeyState, SessionRecord, Store, StoredSigningKey};
use portico_keys::SigningAlgorithm;

use crate::harness::{Backend, fresh_store};
use admin_tokens::*;
use apps::*;
use device_codes::*;
use directory::*;
use extensions::*;
use factors::*;
use flows::*;
use grants::*;
use groups::*;
use otp::*;
use passkeys::*;
use permissions::*;
use pushed_requests::*;
use registrations::*;
use scim_users::*;
use sessions::*;

pub(super) fn tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId::new_random(),
        name: name.to_owned(),
        signing_alg: SigningAlgorithm::Rs256,
        created_at: 1_000,
    }
}

pub(super) fn key(tenant: TenantId, kid: &str, state: KeyState) -> StoredSigningKey {
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

pub(super) fn user(tenant: TenantId, email: &str) -> User {
    User {
        id: UserId::new_random(),
        tenant_id: tenant,
        email: email.to_owned(),
        display_name: None,
        password_hash: None,
        password_in_legacy_store: false,
        enabled: true,
        attributes: Default::default(),
        created_at: 1_000,
    }
}

pub(super) async fn setup(store: &dyn Store) -> (Tenant, User, Application) {
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
        redirect_uris: vec!["https://app.example/cb".into()],
        identifier_uri: Some("api://orders".into()),
        optional_claims: vec!["loyaltyNumber".into()],
        native_auth: true,
        cors_origins: vec!["https://app.example".into()],
        api: Default::default(),
        assignment_required: false,
        device_code: false,
        require_par: false,
        require_dpop: false,
        groups_claim: Default::default(),
        claim_mappings: Vec::new(),
        access_token_lifetime_secs: None,
        refresh_token_lifetime_secs: None,
        client_keys: Vec::new(),
        implicit: Default::default(),
        logout: Default::default(),
        created_at: 1_000,
    };
    store.create_application(&app, None).await.unwrap();
    (t, u, app)
}

pub(super) fn code(t: &Tenant, u: &User, app: &Application, digest: &str) -> AuthCodeRecord {
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
        dpop_jkt: None,
        extension_claims: Some(r#"{"id_token":{"loyalty":"gold"}}"#.into()),
    }
}

/// A code issued under a live session of `u` (codes and grants need one).
pub(super) async fn issue_code(
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

pub(super) fn challenge(t: &Tenant, subject: &str, created_at: i64) -> OtpChallengeRecord {
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
pub(super) fn seal() -> &'static portico_core::outbox::OutboxSeal {
    static SEAL: std::sync::OnceLock<portico_core::outbox::OutboxSeal> = std::sync::OnceLock::new();
    SEAL.get_or_init(|| {
        let (master, _) = portico_keys::MasterKey::generate().unwrap();
        portico_core::outbox::OutboxSeal::new(Arc::new(master))
    })
}

pub(super) fn mail(to: &str, t: &Tenant, now: i64) -> portico_core::outbox::OutboxRecord {
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
    applications_change_and_go_within_their_tenant,
    client_secrets_rotate_within_their_app,
    a_reset_password_yields_to_a_sign_out_it_did_not_see,
    signing_out_everywhere,
    permissions_and_roles_within_their_tenant,
    user_consents_within_their_tenant,
    device_codes_poll_approve_and_redeem_once,
    a_changed_api_keeps_only_what_it_still_defines,
    pushed_requests_are_taken_once_by_their_client,
    ended_sessions_queue_logout_notices,
    initial_access_tokens_are_spent_once_per_registration,
    scim_tokens_within_their_tenant,
    scim_filters_and_writes_within_their_tenant,
    groups_nest_and_carry_roles_within_their_tenant,
    extensions_within_their_tenant,
    passkeys_and_ceremonies_within_their_tenant,
);
