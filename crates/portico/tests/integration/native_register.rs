//! Native just-in-time registration of a second factor (spec §1.7): `registration_required`
//! at the token endpoint, then `register/v1.0/introspect`, `challenge` (a texted code, or
//! `preverified` for the mailbox sign-up just proved) and `continue`.

use portico_core::directory::{MfaMethod, MfaPolicy, UserFlowConfig};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestServer};
use crate::native_auth::{
    assert_error, assert_tokens, ct, keys, native_app, password_sign_in, post, redeem,
};
use crate::native_signup::sign_up_through_code;
use crate::otp_delivery::{code_in, next_file, server_with_outbox};
use crate::page::flow_for;

async fn register(
    server: &TestServer,
    client_id: &str,
    endpoint: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    post(
        server,
        client_id,
        &format!("register/v1.0/{endpoint}"),
        fields,
    )
    .await
}

/// An app whose user flow requires a second factor, by mail or text.
async fn mfa_app(server: &TestServer) -> String {
    let client_id = native_app(server).await;
    flow_for(
        server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::EmailOtp, MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    client_id
}

#[tokio::test]
async fn a_phone_registered_during_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server.user("jit@example.com").await;
    let client_id = mfa_app(&server).await;

    // Without the capability, registration happens in the browser.
    let (status, fallback) = password_sign_in(
        &server,
        &client_id,
        "jit@example.com",
        PASSWORD,
        "mfa_required",
    )
    .await;
    assert_eq!(status, 200, "{fallback}");
    assert_eq!(
        fallback["redirect_reason"],
        "Client is missing registration_required capability"
    );

    let (status, needed) = password_sign_in(
        &server,
        &client_id,
        "jit@example.com",
        PASSWORD,
        "mfa_required registration_required",
    )
    .await;
    assert_error(status, &needed, "invalid_grant", 50076);
    assert_eq!(needed["suberror"], "registration_required");
    let (status, listed) = register(
        &server,
        &client_id,
        "introspect",
        &[("continuation_token", ct(&needed))],
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(keys(&listed), vec!["continuation_token", "methods"]);
    assert_eq!(
        listed["methods"],
        json!([
            { "id": "email", "challenge_type": "oob", "challenge_channel": "email",
              "login_hint": "j*t@e*****e.com" },
            { "id": "sms", "challenge_type": "oob", "challenge_channel": "sms" },
        ])
    );

    // A number that is not one is refused, and the token still works.
    let (status, body) = register(
        &server,
        &client_id,
        "challenge",
        &[
            ("continuation_token", ct(&listed)),
            ("challenge_type", "oob"),
            ("challenge_channel", "sms"),
            ("challenge_target", "call me"),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_request", 90100);
    let (status, asked) = register(
        &server,
        &client_id,
        "challenge",
        &[
            ("continuation_token", ct(&listed)),
            ("challenge_type", "oob"),
            ("challenge_channel", "sms"),
            ("challenge_target", "+1 555 010 4477"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(
        keys(&asked),
        vec![
            "binding_method",
            "challenge_channel",
            "challenge_target",
            "challenge_type",
            "code_length",
            "continuation_token",
            "interval"
        ]
    );
    assert_eq!(asked["challenge_type"], "oob");
    assert_eq!(asked["challenge_channel"], "sms");
    assert_eq!(asked["challenge_target"], "+15550104477");
    let sms: Value =
        serde_json::from_str(&next_file(&dir.path().join("sms"), "json").await).unwrap();
    assert_eq!(sms["to"], "+15550104477");
    let code = code_in(sms["body"].as_str().unwrap());

    let (status, wrong) = register(
        &server,
        &client_id,
        "continue",
        &[
            ("continuation_token", ct(&asked)),
            ("grant_type", "oob"),
            ("oob", "00000000"),
        ],
    )
    .await;
    assert_error(status, &wrong, "invalid_grant", 50181);
    assert_eq!(wrong["suberror"], "invalid_oob_value");
    let (status, registered) = register(
        &server,
        &client_id,
        "continue",
        &[
            ("continuation_token", ct(&asked)),
            ("grant_type", "oob"),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, keys(&registered)),
        (200, vec!["continuation_token"])
    );
    let (status, tokens) = redeem(&server, &client_id, &registered, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        assert_tokens(&server, &tokens).await["amr"],
        json!(["pwd", "mfa"])
    );
    // The phone is the account's second factor from now on.
    let (status, next_time) = password_sign_in(
        &server,
        &client_id,
        "jit@example.com",
        PASSWORD,
        "mfa_required registration_required",
    )
    .await;
    assert_error(status, &next_time, "invalid_grant", 50076);
    assert_eq!(next_time["suberror"], "mfa_required");
    server.stop().await;
}

#[tokio::test]
async fn the_mailbox_sign_up_proved_is_registered_preverified() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let client_id = mfa_app(&server).await;
    let (status, created) = sign_up_through_code(
        &server,
        dir.path(),
        &client_id,
        "new@example.com",
        &[("password", "a long and fine passphrase")],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, needed) = redeem(&server, &client_id, &created, Some("new@example.com")).await;
    assert_error(status, &needed, "invalid_grant", 50076);
    assert_eq!(needed["suberror"], "registration_required");
    // Another mailbox cannot be the email second factor.
    let (status, body) = register(
        &server,
        &client_id,
        "challenge",
        &[
            ("continuation_token", ct(&needed)),
            ("challenge_type", "oob"),
            ("challenge_target", "other@example.com"),
        ],
    )
    .await;
    assert_error(status, &body, "invalid_request", 90100);
    let (status, asked) = register(
        &server,
        &client_id,
        "challenge",
        &[
            ("continuation_token", ct(&needed)),
            ("challenge_type", "oob"),
            ("challenge_channel", "email"),
            ("challenge_target", "New@Example.com"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["challenge_type"], "preverified");
    assert_eq!(asked["challenge_target"], "new@example.com");
    let (status, registered) = register(
        &server,
        &client_id,
        "continue",
        &[
            ("continuation_token", ct(&asked)),
            ("grant_type", "continuation_token"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    let (status, tokens) = redeem(&server, &client_id, &registered, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        assert_tokens(&server, &tokens).await["amr"],
        json!(["otp", "pwd", "mfa"])
    );
    // No recovery codes were made: the native contract has no way to show them.
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "new@example.com")
        .await
        .unwrap()
        .unwrap();
    let methods = server
        .portico()
        .store
        .auth_methods(server.tenant.id, user.id)
        .await
        .unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].kind, MfaMethod::EmailOtp);
    server.stop().await;
}
