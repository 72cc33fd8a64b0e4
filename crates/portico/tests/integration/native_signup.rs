//! Native sign-up (spec §1.5), posted as MSAL's custom auth posts it: `signup/v1.0/start`,
//! `challenge`, `continue` (grants `oob`, `password`, `attributes`), then the token endpoint.

use portico_core::directory::{AttributeSpec, SignInMethod, UserFlowConfig};
use serde_json::{Value, json};

use crate::harness::TestServer;
use crate::native_auth::{
    assert_error, assert_tokens, call, ct, keys, native_app, password_sign_in, post, redeem,
};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

const TYPES: &str = "oob password redirect";

pub(crate) async fn start(
    server: &TestServer,
    client_id: &str,
    username: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("client_id", client_id),
        ("username", username),
        ("challenge_type", TYPES),
        ("capabilities", "mfa_required registration_required"),
    ];
    form.extend_from_slice(extra);
    call(server, "signup/v1.0/start", &form).await
}

pub(crate) async fn signup_challenge(
    server: &TestServer,
    client_id: &str,
    token: &str,
) -> (u16, Value) {
    call(
        server,
        "signup/v1.0/challenge",
        &[
            ("client_id", client_id),
            ("challenge_type", TYPES),
            ("continuation_token", token),
        ],
    )
    .await
}

pub(crate) async fn proceed(
    server: &TestServer,
    client_id: &str,
    token: &str,
    grant: &[(&str, &str)],
) -> (u16, Value) {
    let mut fields = vec![("continuation_token", token)];
    fields.extend_from_slice(grant);
    post(server, client_id, "signup/v1.0/continue", &fields).await
}

/// Start, code challenge and the right code: the answer of the code's `continue`.
pub(crate) async fn sign_up_through_code(
    server: &TestServer,
    dir: &std::path::Path,
    client_id: &str,
    username: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let (status, started) = start(server, client_id, username, extra).await;
    assert_eq!(status, 200, "{started}");
    let (status, asked) = signup_challenge(server, client_id, ct(&started)).await;
    assert_eq!(status, 200, "{asked}");
    let code = mail_code(dir).await;
    proceed(
        server,
        client_id,
        ct(&asked),
        &[("grant_type", "oob"), ("oob", &code)],
    )
    .await
}

#[tokio::test]
async fn sign_up_with_a_password_as_msal_does_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let client_id = native_app(&server).await;

    // A weak password is refused before any flow exists or any code goes out.
    let (status, weak) = start(
        &server,
        &client_id,
        "ada@example.com",
        &[("password", "short")],
    )
    .await;
    assert_error(status, &weak, "invalid_grant", 399246);
    assert_eq!(weak["suberror"], "password_too_short");

    let (status, started) = start(
        &server,
        &client_id,
        "Ada@Example.com",
        &[("password", "a long and fine passphrase")],
    )
    .await;
    assert_eq!((status, keys(&started)), (200, vec!["continuation_token"]));
    let (status, asked) = signup_challenge(&server, &client_id, ct(&started)).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(
        keys(&asked),
        vec![
            "binding_method",
            "challenge_channel",
            "challenge_target_label",
            "challenge_type",
            "code_length",
            "continuation_token",
            "interval"
        ]
    );
    assert_eq!(asked["challenge_type"], "oob");
    assert_eq!(asked["challenge_channel"], "email");
    assert_eq!(asked["challenge_target_label"], "a*a@e*****e.com");
    assert_eq!(asked["code_length"], 8);
    assert!(asked["interval"].as_i64().unwrap() > 0);
    let code = mail_code(dir.path()).await;

    let (status, wrong) = proceed(
        &server,
        &client_id,
        ct(&asked),
        &[("grant_type", "oob"), ("oob", "00000000")],
    )
    .await;
    assert_error(status, &wrong, "invalid_grant", 50181);
    assert_eq!(wrong["suberror"], "invalid_oob_value");
    // The password came with start, and the flow collects no attributes: the account exists.
    let (status, created) = proceed(
        &server,
        &client_id,
        ct(&asked),
        &[("grant_type", "oob"), ("oob", &code)],
    )
    .await;
    assert_eq!(
        (status, keys(&created)),
        (200, vec!["continuation_token"]),
        "{created}"
    );

    // Auto sign-in: the continuation_token grant, with the username (the docs require it).
    let (status, mismatch) =
        redeem(&server, &client_id, &created, Some("someone@example.com")).await;
    assert_error(status, &mismatch, "invalid_grant", 55200);
    let (status, tokens) = redeem(&server, &client_id, &created, Some("ada@example.com")).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], json!(["otp", "pwd"]));
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "ada@example.com")
        .await
        .unwrap()
        .expect("the account exists");
    assert_eq!(claims["oid"], user.id.to_string());

    // The address is taken now, and the contract says so.
    let (status, taken) = start(
        &server,
        &client_id,
        "ada@example.com",
        &[("password", "a long and fine passphrase")],
    )
    .await;
    assert_error(status, &taken, "user_already_exists", 1003037);
    // The new password signs in through the native sign-in.
    let (status, tokens) = password_sign_in(
        &server,
        &client_id,
        "ada@example.com",
        "a long and fine passphrase",
        "",
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    server.stop().await;
}

#[tokio::test]
async fn password_asked_after_the_code_when_start_had_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let client_id = native_app(&server).await;
    let (status, needed) =
        sign_up_through_code(&server, dir.path(), &client_id, "lin@example.com", &[]).await;
    assert_error(status, &needed, "credential_required", 55103);
    let (status, asked) = signup_challenge(&server, &client_id, ct(&needed)).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(keys(&asked), vec!["challenge_type", "continuation_token"]);
    assert_eq!(asked["challenge_type"], "password");
    // A common password is refused, and the same token may try again.
    let (status, banned) = proceed(
        &server,
        &client_id,
        ct(&asked),
        &[("grant_type", "password"), ("password", "password123")],
    )
    .await;
    assert_error(status, &banned, "invalid_grant", 399246);
    assert_eq!(banned["suberror"], "password_banned");
    let (status, created) = proceed(
        &server,
        &client_id,
        ct(&asked),
        &[
            ("grant_type", "password"),
            ("password", "quiet harbour lanterns"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, tokens) = redeem(&server, &client_id, &created, None).await;
    assert_eq!(status, 200, "{tokens}");
    server.stop().await;
}

#[tokio::test]
async fn sign_up_by_code_with_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let client_id = native_app(&server).await;
    let mut postal = AttributeSpec::parse_cli("postalCode:required").unwrap();
    postal.regex = Some("[0-9]{5}".into());
    flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            attributes: vec![
                AttributeSpec::parse_cli("displayName:required").unwrap(),
                postal,
                AttributeSpec::parse_cli("loyaltyNumber:int").unwrap(),
                AttributeSpec::parse_cli("city").unwrap(),
            ],
            ..UserFlowConfig::default()
        },
    )
    .await;

    // Bad values sent with start are refused by name, before a code goes out; a password is
    // no use to a flow without passwords; unknown names are ignored.
    let (status, bad) = start(
        &server,
        &client_id,
        "kim@example.com",
        &[("attributes", r#"{"loyaltyNumber":"many","city":"Oslo"}"#)],
    )
    .await;
    assert_error(status, &bad, "invalid_grant", 55107);
    assert_eq!(bad["suberror"], "attribute_validation_failed");
    assert_eq!(
        bad["invalid_attributes"],
        json!([{ "name": "loyaltyNumber" }])
    );
    let (status, body) = start(
        &server,
        &client_id,
        "kim@example.com",
        &[("password", "a long and fine passphrase")],
    )
    .await;
    assert_error(status, &body, "invalid_request", 90100);
    let (status, body) = start(
        &server,
        &client_id,
        "kim@example.com",
        &[("attributes", "[1]")],
    )
    .await;
    assert_error(status, &body, "invalid_request", 90100);

    let (status, needed) = sign_up_through_code(
        &server,
        dir.path(),
        &client_id,
        "kim@example.com",
        &[(
            "attributes",
            r#"{"city":"Oslo","loyaltyNumber":7,"favouriteColour":"teal"}"#,
        )],
    )
    .await;
    assert_error(status, &needed, "attributes_required", 55106);
    assert_eq!(
        needed["required_attributes"],
        json!([
            { "name": "displayName", "type": "string", "required": true },
            { "name": "postalCode", "type": "string", "required": true,
              "options": { "regex": "[0-9]{5}" } },
        ])
    );
    let (status, invalid) = proceed(
        &server,
        &client_id,
        ct(&needed),
        &[
            ("grant_type", "attributes"),
            ("attributes", r#"{"displayName":"Kim","postalCode":"oslo"}"#),
        ],
    )
    .await;
    assert_error(status, &invalid, "invalid_grant", 55107);
    assert_eq!(
        invalid["invalid_attributes"],
        json!([{ "name": "postalCode" }])
    );
    let (status, created) = proceed(
        &server,
        &client_id,
        ct(&needed),
        &[
            ("grant_type", "attributes"),
            (
                "attributes",
                r#"{"displayName":"Kim","postalCode":"01234"}"#,
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, tokens) = redeem(&server, &client_id, &created, Some("kim@example.com")).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(assert_tokens(&server, &tokens).await["amr"], json!(["otp"]));
    // What start sent and what continue sent both landed on the account.
    let user = server
        .portico()
        .store
        .find_user_by_email(server.tenant.id, "kim@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Kim"));
    assert_eq!(
        serde_json::to_value(&user.attributes).unwrap(),
        json!({ "city": "Oslo", "displayName": "Kim", "loyaltyNumber": 7, "postalCode": "01234" })
    );
    server.stop().await;
}

#[tokio::test]
async fn sign_up_errors_and_fallbacks() {
    let server = TestServer::start().await;
    server.user("ada@example.com").await;
    let client_id = native_app(&server).await;
    // An existing address, said at start (the contract forces it).
    let (status, body) = start(&server, &client_id, "ada@example.com", &[]).await;
    assert_error(status, &body, "user_already_exists", 1003037);
    // A client that cannot take passwords, for a flow that needs one: the browser.
    let (status, body) = call(
        &server,
        "signup/v1.0/start",
        &[
            ("client_id", &client_id),
            ("username", "new@example.com"),
            ("challenge_type", "oob redirect"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), vec!["challenge_type", "redirect_reason"]);
    // A sign-in token is not a sign-up token.
    let (_, initiated) = call(
        &server,
        "oauth2/v2.0/initiate",
        &[
            ("client_id", &client_id),
            ("username", "ada@example.com"),
            ("challenge_type", TYPES),
        ],
    )
    .await;
    let (status, body) = signup_challenge(&server, &client_id, ct(&initiated)).await;
    assert_error(status, &body, "invalid_request", 901007);
    let (status, body) = proceed(
        &server,
        &client_id,
        ct(&initiated),
        &[("grant_type", "magic")],
    )
    .await;
    assert_error(status, &body, "unsupported_grant_type", 70003);
    // Sign-up switched off for the app.
    let closed = native_app(&server).await;
    flow_for(
        &server,
        &closed,
        UserFlowConfig {
            sign_up: false,
            ..UserFlowConfig::default()
        },
    )
    .await;
    let (status, body) = start(&server, &closed, "new@example.com", &[]).await;
    assert_error(status, &body, "unauthorized_client", 500207);
    server.stop().await;
}

#[tokio::test]
async fn of_two_sign_ups_racing_for_one_address_the_second_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.resend_interval_secs = 0).await;
    let client_id = native_app(&server).await;
    // Both prove the mailbox before either has chosen a password.
    let (status, first) =
        sign_up_through_code(&server, dir.path(), &client_id, "race@example.com", &[]).await;
    assert_error(status, &first, "credential_required", 55103);
    let (status, second) =
        sign_up_through_code(&server, dir.path(), &client_id, "race@example.com", &[]).await;
    assert_error(status, &second, "credential_required", 55103);
    let mut done = Vec::new();
    for needed in [&first, &second] {
        let (_, asked) = signup_challenge(&server, &client_id, ct(needed)).await;
        done.push(
            proceed(
                &server,
                &client_id,
                ct(&asked),
                &[
                    ("grant_type", "password"),
                    ("password", "quiet harbour lanterns"),
                ],
            )
            .await,
        );
    }
    assert_eq!(done[0].0, 200, "{}", done[0].1);
    assert_error(done[1].0, &done[1].1, "user_already_exists", 1003037);
    server.stop().await;
}
