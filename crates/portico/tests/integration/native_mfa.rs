//! The second factor over the native API: choosing it through introspect, and the web fallback
//! for a client that cannot go on.

use std::path::Path;

use portico_core::directory::{MfaMethod, MfaPolicy, SignInMethod, UserFlowConfig};
use serde_json::Value;

use crate::harness::{PASSWORD, TestServer};
use crate::native_auth::{
    assert_error, assert_oob, assert_tokens, call, challenge, ct, initiate, keys, native_app, token,
};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

async fn mfa_server(dir: &Path) -> (TestServer, String) {
    let server = server_with_outbox(dir, |_| {}).await;
    let user = server.user("mfa@example.com").await;
    let client_id = native_app(&server).await;
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            mfa: MfaPolicy::Required,
            mfa_methods: vec![MfaMethod::EmailOtp, MfaMethod::Sms],
            ..UserFlowConfig::default()
        },
    )
    .await;
    for (kind, target) in [
        (MfaMethod::EmailOtp, "backup@example.com"),
        (MfaMethod::Sms, "+15551234567"),
    ] {
        crate::mfa_bypass::add_factor(&server, user.id, kind, Some(target)).await;
    }
    (server, client_id)
}

async fn password_step(server: &TestServer, client_id: &str, capabilities: &str) -> (u16, Value) {
    let (_, started) = call(
        server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", client_id),
            ("username", "mfa@example.com"),
            ("challenge_type", "oob password redirect"),
            ("capability", capabilities),
        ],
    )
    .await;
    let (_, asked) = challenge(server, client_id, ct(&started), "oob password redirect").await;
    token(
        server,
        client_id,
        &[
            ("grant_type", "password"),
            ("continuation_token", ct(&asked)),
            ("password", PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn second_factor_by_email_chosen_through_introspect() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id) = mfa_server(dir.path()).await;
    // The docs spell the field `capability` and separate with commas.
    let (status, needed) =
        password_step(&server, &client_id, "registration_required,mfa_required").await;
    assert_error(status, &needed, "invalid_grant", 50076);
    assert_eq!(needed["suberror"], "mfa_required");
    let (status, listed) = call(
        &server,
        "oauth2/v2.0/introspect",
        &[
            ("client_id", &client_id),
            ("continuation_token", ct(&needed)),
        ],
    )
    .await;
    assert_eq!(
        (status, keys(&listed)),
        (200, vec!["continuation_token", "methods"]),
        "{listed}"
    );
    let methods = listed["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    let email = methods
        .iter()
        .find(|m| m["challenge_channel"] == "email")
        .unwrap();
    assert_eq!(email["challenge_type"], "oob");
    assert_eq!(email["login_hint"], "b****p@e*****e.com");
    let sms = methods
        .iter()
        .find(|m| m["challenge_channel"] == "sms")
        .unwrap();
    assert_eq!(sms["login_hint"], "+*******4567");

    let (status, asked) = call(
        &server,
        "oauth2/v2.0/challenge",
        &[
            ("client_id", &client_id),
            ("continuation_token", ct(&listed)),
            ("id", email["id"].as_str().unwrap()),
            ("challenge_type", "oob redirect"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_oob(&asked, "email", "b****p@e*****e.com");
    let code = mail_code(dir.path()).await;
    let (status, tokens) = token(
        &server,
        &client_id,
        &[
            ("grant_type", "mfa_oob"),
            ("continuation_token", ct(&asked)),
            ("oob", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));
    server.stop().await;
}

#[tokio::test]
async fn the_web_fallback_when_the_client_cannot_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client_id) = mfa_server(dir.path()).await;
    // No mfa_required capability: the second factor happens in the browser.
    let (status, fallback) = password_step(&server, &client_id, "registration_required").await;
    assert_eq!(status, 200, "{fallback}");
    assert_eq!(fallback["challenge_type"], "redirect");
    assert_eq!(
        fallback["redirect_reason"],
        "Client is missing mfa_required capability"
    );
    // A password-only user flow and a client that can only take codes.
    let other = native_app(&server).await;
    flow_for(
        &server,
        &other,
        UserFlowConfig {
            methods: vec![SignInMethod::Password],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, fallback) = initiate(&server, &other, "mfa@example.com", "oob redirect").await;
    assert_eq!(status, 200);
    assert_eq!(keys(&fallback), vec!["challenge_type", "redirect_reason"]);
    server.stop().await;
}
