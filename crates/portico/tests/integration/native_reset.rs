//! Native self-service password reset (spec §1.8), posted as MSAL's custom auth posts it:
//! `resetpassword/v1.0/start`, `challenge`, `continue`, `submit`, `poll_completion`, then the
//! token endpoint.

use portico_core::directory::{SignInMethod, TenantRef, UserFlowConfig};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestServer};
use crate::native_auth::{
    assert_error, assert_oob, assert_tokens, ct, keys, native_app, password_sign_in, post, redeem,
};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

async fn reset(
    server: &TestServer,
    client_id: &str,
    endpoint: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    post(
        server,
        client_id,
        &format!("resetpassword/v1.0/{endpoint}"),
        fields,
    )
    .await
}

/// `start` as MSAL sends it for an email-code reset.
async fn start(server: &TestServer, client_id: &str, username: &str) -> (u16, Value) {
    reset(
        server,
        client_id,
        "start",
        &[("username", username), ("challenge_type", "oob redirect")],
    )
    .await
}

#[tokio::test]
async fn password_reset_as_msal_does_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let user = server.user("reset@example.com").await;
    let client_id = native_app(&server).await;

    let (status, body) = start(&server, &client_id, "nobody@example.com").await;
    assert_error(status, &body, "user_not_found", 50034);
    let (status, started) = reset(
        &server,
        &client_id,
        "start",
        &[
            ("username", "reset@example.com"),
            ("challenge_type", "oob redirect"),
            ("capabilities", "mfa_required registration_required"),
        ],
    )
    .await;
    assert_eq!((status, keys(&started)), (200, vec!["continuation_token"]));
    let (status, asked) = reset(
        &server,
        &client_id,
        "challenge",
        &[
            ("challenge_type", "oob redirect"),
            ("continuation_token", ct(&started)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_oob(&asked, "email", "r***t@e*****e.com");
    let code = mail_code(dir.path()).await;

    let (status, wrong) = reset(
        &server,
        &client_id,
        "continue",
        &[
            ("grant_type", "oob"),
            ("oob", "00000000"),
            ("continuation_token", ct(&asked)),
        ],
    )
    .await;
    assert_error(status, &wrong, "invalid_grant", 50181);
    assert_eq!(wrong["suberror"], "invalid_oob_value");
    let (status, proven) = reset(
        &server,
        &client_id,
        "continue",
        &[
            ("grant_type", "oob"),
            ("oob", &code),
            ("continuation_token", ct(&asked)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{proven}");
    assert_eq!(keys(&proven), vec!["continuation_token", "expires_in"]);
    assert_eq!(proven["expires_in"], 600);

    // The current password is "recently used"; then a good one.
    let (status, reused) = reset(
        &server,
        &client_id,
        "submit",
        &[
            ("new_password", PASSWORD),
            ("continuation_token", ct(&proven)),
        ],
    )
    .await;
    assert_error(status, &reused, "invalid_grant", 399246);
    assert_eq!(reused["suberror"], "password_recently_used");
    let (status, submitted) = reset(
        &server,
        &client_id,
        "submit",
        &[
            ("new_password", "a brand new passphrase"),
            ("continuation_token", ct(&proven)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(
        keys(&submitted),
        vec!["continuation_token", "poll_interval"]
    );
    assert!(submitted["poll_interval"].as_i64().unwrap() > 0);
    let (status, polled) = reset(
        &server,
        &client_id,
        "poll_completion",
        &[("continuation_token", ct(&submitted))],
    )
    .await;
    assert_eq!(status, 200, "{polled}");
    assert_eq!(keys(&polled), vec!["continuation_token", "status"]);
    assert_eq!(polled["status"], "succeeded");

    let (status, tokens) = redeem(&server, &client_id, &polled, None).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["oid"], user.id.to_string());
    assert_eq!(claims["amr"], json!(["otp", "pwd"]));

    // The old password is gone, the new one works.
    for (password, expected) in [(PASSWORD, 400), ("a brand new passphrase", 200)] {
        let (status, body) =
            password_sign_in(&server, &client_id, "reset@example.com", password, "").await;
        assert_eq!(status, expected, "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn password_reset_errors() {
    let server = TestServer::start().await;
    server.user("reset@example.com").await;
    let client_id = native_app(&server).await;
    // Without `oob`, a reset cannot happen here: the browser.
    let (status, body) = reset(
        &server,
        &client_id,
        "start",
        &[
            ("username", "reset@example.com"),
            ("challenge_type", "password redirect"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["challenge_type"], "redirect");
    // A reset token is good only at the step it was given for.
    let (_, started) = start(&server, &client_id, "reset@example.com").await;
    let (status, body) = reset(
        &server,
        &client_id,
        "submit",
        &[
            ("new_password", "a brand new passphrase"),
            ("continuation_token", ct(&started)),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_request", 901007);
    let (status, body) = reset(
        &server,
        &client_id,
        "continue",
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&started)),
        ],
    )
    .await;
    assert_error(status, &body, "unsupported_grant_type", 70003);
    // Accounts of a flow without passwords have none to reset.
    let codes_only = native_app(&server).await;
    flow_for(
        &server,
        &codes_only,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, body) = start(&server, &codes_only, "reset@example.com").await;
    assert_error(status, &body, "unauthorized_client", 500222);
    server.stop().await;
}

#[tokio::test]
async fn a_disabled_account_keeps_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("off@example.com").await;
    server
        .portico()
        .set_user_enabled(&TenantRef::Id(server.tenant.id), "off@example.com", false)
        .await
        .unwrap();
    let client_id = native_app(&server).await;
    let (_, started) = start(&server, &client_id, "off@example.com").await;
    let (_, asked) = reset(
        &server,
        &client_id,
        "challenge",
        &[("continuation_token", ct(&started))],
    )
    .await;
    let code = mail_code(dir.path()).await;
    let (status, body) = reset(
        &server,
        &client_id,
        "continue",
        &[
            ("grant_type", "oob"),
            ("oob", &code),
            ("continuation_token", ct(&asked)),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_grant", 50057);
    server.stop().await;
}

#[tokio::test]
async fn a_reset_that_needs_a_second_factor_goes_to_the_browser() {
    // The contract's reset has no second-factor step, and a mailbox alone must not set the
    // password of an account whose flow requires MFA: such resets happen in the browser.
    let server = TestServer::start().await;
    server.user("reset@example.com").await;
    let client_id = native_app(&server).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: portico_core::directory::MfaPolicy::Required,
            mfa_methods: vec![portico_core::directory::MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, body) = reset(
        &server,
        &client_id,
        "start",
        &[
            ("username", "reset@example.com"),
            ("challenge_type", "oob redirect"),
            ("capabilities", "mfa_required registration_required"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["challenge_type"], "redirect", "{body}");
    assert!(body.get("continuation_token").is_none());
    server.stop().await;
}

/// A reset of `username` through its emailed code, up to the new-password step.
async fn prove_mailbox(
    server: &TestServer,
    client_id: &str,
    outbox: &std::path::Path,
    username: &str,
) -> Value {
    let (status, started) = start(server, client_id, username).await;
    assert_eq!(status, 200, "{started}");
    let (status, asked) = reset(
        server,
        client_id,
        "challenge",
        &[
            ("challenge_type", "oob redirect"),
            ("continuation_token", ct(&started)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    let code = mail_code(outbox).await;
    let (status, proven) = reset(
        server,
        client_id,
        "continue",
        &[
            ("grant_type", "oob"),
            ("oob", &code),
            ("continuation_token", ct(&asked)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{proven}");
    proven
}

#[tokio::test]
async fn a_finished_reset_cannot_sign_in_after_a_later_sign_out_everywhere() {
    // Someone with the mailbox finishes a reset but holds back the last token request; the
    // owner notices, and the account is signed out everywhere (disabled and enabled again).
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let user = server.user("held@example.com").await;
    let client_id = native_app(&server).await;
    let proven = prove_mailbox(&server, &client_id, dir.path(), "held@example.com").await;
    let (status, submitted) = reset(
        &server,
        &client_id,
        "submit",
        &[
            ("new_password", "the intruder's passphrase"),
            ("continuation_token", ct(&proven)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{submitted}");
    let (_, polled) = reset(
        &server,
        &client_id,
        "poll_completion",
        &[("continuation_token", ct(&submitted))],
    )
    .await;
    assert_eq!(polled["status"], "succeeded", "{polled}");
    let store = &server.portico().store;
    let now = server.portico().now();
    for enabled in [false, true] {
        store
            .set_user_enabled(server.tenant.id, user.id, enabled, now)
            .await
            .unwrap();
    }
    let (status, refused) = redeem(&server, &client_id, &polled, None).await;
    assert_error(status, &refused, "invalid_grant", 55200);

    // Held back before the new password instead: the password is not changed.
    let proven = prove_mailbox(&server, &client_id, dir.path(), "held@example.com").await;
    assert!(proven["continuation_token"].is_string(), "{proven}");
    let later = server.portico().now() + 1;
    for enabled in [false, true] {
        store
            .set_user_enabled(server.tenant.id, user.id, enabled, later)
            .await
            .unwrap();
    }
    let (status, refused) = reset(
        &server,
        &client_id,
        "submit",
        &[
            ("new_password", "another intruder passphrase"),
            ("continuation_token", ct(&proven)),
        ],
    )
    .await;
    assert_error(status, &refused, "expired_token", 552003);
    let (status, body) = password_sign_in(
        &server,
        &client_id,
        "held@example.com",
        "another intruder passphrase",
        "",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}
