//! What a step may do when a person (or an attacker) submits it twice at once, or again and
//! again: the step's writes commit with the flow's version-checked save, so exactly one of
//! two happens, with all its writes, and what the page shows is what was stored; steps that
//! cost hashing are rate limited.

use portico_core::directory::{AppKind, MfaMethod, MfaPolicy, UserFlowConfig};

use crate::harness::{PASSWORD, browser};
use crate::journeys::totp_now;
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, reset_to_new_password, sign_in_with_password};

#[tokio::test]
async fn a_double_submitted_authenticator_registration_adds_one_factor_with_the_codes_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let careful = server.user("twice@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let config = UserFlowConfig {
        mfa: MfaPolicy::Required,
        mfa_methods: vec![MfaMethod::Totp],
        ..UserFlowConfig::default()
    };
    flow_for(&server, &client_id, config).await;
    let browser = browser();
    let page = sign_in_with_password(&server, &browser, &client_id, "twice@example.com").await;
    assert_eq!(page.h1(), "Set up your authenticator app");
    let secret = page.totp_secret();
    let code = totp_now(&secret);
    let fields = [("action", "verify"), ("code", code.as_str())];
    let (first, second) = tokio::join!(
        page.submit(&browser, &fields),
        page.submit(&browser, &fields)
    );
    let stored = server
        .portico()
        .store
        .auth_methods(server.tenant.id, careful.id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "one authenticator, not two");
    let shown: Vec<Vec<String>> = [&first, &second]
        .iter()
        .map(|page| page.recovery_codes())
        .filter(|codes| !codes.is_empty())
        .collect();
    assert_eq!(shown.len(), 1, "one answer shows recovery codes");
    // The codes shown are the stored ones: one of them signs in.
    let later = crate::harness::browser();
    let challenge = sign_in_with_password(&server, &later, &client_id, "twice@example.com").await;
    assert_eq!(challenge.h1(), "Verify it's you");
    let done = challenge
        .submit(
            &later,
            &[("action", "recovery"), ("recovery_code", &shown[0][3])],
        )
        .await;
    assert!(done.signed_in(), "a shown recovery code works");
    server.stop().await;
}

#[tokio::test]
async fn a_double_submitted_new_password_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let forgetful = server.user("again@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let page = reset_to_new_password(
        &server,
        &browser,
        &client_id,
        "again@example.com",
        dir.path(),
    )
    .await;
    let fields = [
        ("action", "new_password"),
        ("new_password", "a fresh passphrase"),
        ("confirm_password", "a fresh passphrase"),
    ];
    let (first, second) = tokio::join!(
        page.submit(&browser, &fields),
        page.submit(&browser, &fields)
    );
    assert_eq!(
        [first.signed_in(), second.signed_in()]
            .iter()
            .filter(|s| **s)
            .count(),
        1,
        "one of the two finishes the reset"
    );
    let history = server
        .portico()
        .store
        .password_history(server.tenant.id, forgetful.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "the old password joined the history once");
    let user = server
        .portico()
        .store
        .find_user(server.tenant.id, forgetful.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        server
            .portico()
            .passwords
            .verify("a fresh passphrase".into(), user.password_hash.clone())
            .await
            .unwrap()
    );
    assert!(
        !server
            .portico()
            .passwords
            .verify(PASSWORD.into(), user.password_hash)
            .await
            .unwrap()
    );
    server.stop().await;
}

#[tokio::test]
async fn new_password_tries_are_rate_limited_like_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| {
        s.rate_limits.per_account = portico_core::ratelimit::Rate {
            per_minute: 5,
            burst: 5,
        };
    })
    .await;
    server.user("hasty@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = browser();
    let mut page = reset_to_new_password(
        &server,
        &browser,
        &client_id,
        "hasty@example.com",
        dir.path(),
    )
    .await;
    // Each try costs several hashes: after the burst, the step answers 429 without hashing.
    let mut statuses = Vec::new();
    let banned = [
        ("action", "new_password"),
        ("new_password", "password"),
        ("confirm_password", "password"),
    ];
    for _ in 0..8 {
        page = page.submit(&browser, &banned).await;
        statuses.push(page.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let before = server.portico().passwords.runs();
    let limited = page
        .submit(
            &browser,
            &[
                ("action", "new_password"),
                ("new_password", "a perfectly good passphrase"),
                ("confirm_password", "a perfectly good passphrase"),
            ],
        )
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(server.portico().passwords.runs(), before, "no hashing");
    server.stop().await;
}
