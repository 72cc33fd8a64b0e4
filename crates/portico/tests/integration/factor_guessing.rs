//! Guessing a second factor: authenticator codes, alone and in parallel, and recovery codes.

use portico_core::directory::{AppKind, MfaMethod};
use portico_core::ids::AuthMethodId;
use portico_core::store::AuthMethodRecord;

use crate::harness::browser;
use crate::mfa_bypass::{mfa, register_authenticator};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, sign_in_with_password};

/// A six-digit code that is not the authenticator's current one.
fn wrong_totp(secret: &str) -> String {
    let right: u32 = crate::journeys::totp_now(secret).parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

#[tokio::test]
async fn authenticator_codes_cannot_be_brute_forced() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("guessed@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Totp])).await;
    // The user registers an authenticator app.
    let (secret, _) = register_authenticator(&server, &client_id, "guessed@example.com").await;
    let code = crate::journeys::totp_now(&secret);

    // Someone with the password guesses: a flow ends after five wrong codes...
    let guesser = crate::harness::browser();
    let mut page =
        sign_in_with_password(&server, &guesser, &client_id, "guessed@example.com").await;
    for left in (1..=4).rev() {
        page = page
            .submit(
                &guesser,
                &[("action", "verify"), ("code", &wrong_totp(&secret))],
            )
            .await;
        assert_eq!(page.status, 400);
        let tries = if left == 1 { "try" } else { "tries" };
        assert!(
            page.html
                .contains(&format!("You have {left} more {tries}.")),
            "{}",
            page.html
        );
    }
    let ended = page
        .submit(
            &guesser,
            &[("action", "verify"), ("code", &wrong_totp(&secret))],
        )
        .await;
    assert_eq!(ended.status, 429, "{}", ended.html);
    assert!(
        ended.html.contains("Too many wrong codes"),
        "{}",
        ended.html
    );
    let after = page
        .submit(&guesser, &[("action", "verify"), ("code", &code)])
        .await;
    assert!(!after.signed_in(), "the ended flow takes no more codes");
    // ...and the wrong codes count for the user, across flows: after ten in a day the app's
    // codes are refused for a while, even the right one, and recovery codes too.
    let page = sign_in_with_password(&server, &guesser, &client_id, "guessed@example.com").await;
    let mut page = page;
    for _ in 0..4 {
        page = page
            .submit(
                &guesser,
                &[("action", "verify"), ("code", &wrong_totp(&secret))],
            )
            .await;
    }
    page.submit(
        &guesser,
        &[("action", "verify"), ("code", &wrong_totp(&secret))],
    )
    .await;
    let owner = crate::harness::browser();
    let page = sign_in_with_password(&server, &owner, &client_id, "guessed@example.com").await;
    let right = crate::journeys::totp_now(&secret);
    let locked = page
        .submit(&owner, &[("action", "verify"), ("code", &right)])
        .await;
    assert_eq!(locked.status, 429, "{}", locked.html);
    assert!(
        locked.html.contains("Try again in an hour"),
        "{}",
        locked.html
    );
    assert!(!locked.signed_in());
    server.stop().await;
}

#[tokio::test]
async fn parallel_authenticator_guesses_cannot_slip_past_the_daily_count() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let user = server.user("rushed@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Totp])).await;
    let (secret, _) = register_authenticator(&server, &client_id, "rushed@example.com").await;

    // Someone with the password opens four flows and sends five guesses to each at once:
    // twenty codes in flight, against a daily allowance of ten.
    let mut flows = Vec::new();
    for _ in 0..4 {
        let guesser = crate::harness::browser();
        let page = sign_in_with_password(&server, &guesser, &client_id, "rushed@example.com").await;
        assert_eq!(page.h1(), "Verify it's you");
        flows.push((guesser, page));
    }
    let wrong = wrong_totp(&secret);
    let guesses = flows
        .iter()
        .flat_map(|(guesser, page)| {
            let wrong = wrong.clone();
            (0..5).map(move |_| {
                let wrong = wrong.clone();
                async move {
                    page.submit(guesser, &[("action", "verify"), ("code", &wrong)])
                        .await
                }
            })
        })
        .collect();
    let answers = crate::harness::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|page| page.html.contains("That code is incorrect"))
        .count();
    let (failures, _) = server
        .portico()
        .store
        .second_factor_failures(server.tenant.id, user.id, 0, "")
        .await
        .unwrap();
    assert!(
        failures <= 10 && checked <= 10,
        "{failures} wrong codes counted, {checked} answered as checked: more than a day allows"
    );
    server.stop().await;
}

#[tokio::test]
async fn recovery_codes_saved_before_they_were_keyed_still_work_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let user = server.user("longtime@example.com").await;
    // A code stored the old way (a bare SHA-256 of the normalised code).
    let legacy = portico_core::secret::digest_secret("abcdefghjk");
    server
        .portico()
        .store
        .add_auth_method(
            &AuthMethodRecord {
                id: AuthMethodId::new_random(),
                tenant_id: server.tenant.id,
                user_id: user.id,
                kind: MfaMethod::Sms,
                target: Some("+15550100009".into()),
                sealed_secret: None,
                created_at: server.portico().now(),
            },
            &[legacy],
        )
        .await
        .unwrap();
    let (client_id, _) = server.app(AppKind::Web).await;
    flow_for(&server, &client_id, mfa(vec![MfaMethod::Sms])).await;
    let browser = browser();
    let page = sign_in_with_password(&server, &browser, &client_id, "longtime@example.com").await;
    let done = page
        .submit(
            &browser,
            &[("action", "recovery"), ("recovery_code", "ABCDE FGHJK")],
        )
        .await;
    assert!(done.signed_in(), "{}", done.html);
    let again = crate::harness::browser();
    let page = sign_in_with_password(&server, &again, &client_id, "longtime@example.com").await;
    let spent = page
        .submit(
            &again,
            &[("action", "recovery"), ("recovery_code", "abcde-fghjk")],
        )
        .await;
    assert!(!spent.signed_in());
    server.stop().await;
}
